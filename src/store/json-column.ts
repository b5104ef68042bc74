/** A JSON array stored in a text column; a damaged or non-array value reads as empty rather than failing the row. */
export function jsonArray(text: string): unknown[] {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed : [];
  } catch {
    return [];
  }
}
