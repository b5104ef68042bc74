import { z } from 'zod';

/**
 * The keys a strict object at `path` accepts, found by walking the schema through its wrappers
 * (optional, default, transforms). Used to turn "unknown key" into "did you mean …?".
 */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] | undefined {
  let s: z.ZodType = schema;
  let i = 0;
  for (let guard = 0; guard < 100; guard++) {
    if (s instanceof z.ZodPipe) {
      s = s.in as z.ZodType;
      continue;
    }
    if (s instanceof z.ZodOptional || s instanceof z.ZodDefault || s instanceof z.ZodPrefault || s instanceof z.ZodNullable) {
      s = s.unwrap() as z.ZodType;
      continue;
    }
    if (i === path.length) return s instanceof z.ZodObject ? Object.keys(s.shape) : undefined;
    const seg = path[i++];
    if (s instanceof z.ZodObject && typeof seg === 'string') {
      const next: unknown = (s.shape as Record<string, unknown>)[seg];
      if (!(next instanceof z.ZodType)) return undefined;
      s = next;
    } else if (s instanceof z.ZodArray && typeof seg === 'number') {
      s = s.element as z.ZodType;
    } else {
      return undefined;
    }
  }
  return undefined;
}

/** Edit distance, capped: we only care whether a typo is close. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** Text to append to "unknown key": a close match, or else the list of keys allowed there. */
export function suggestKey(schema: z.ZodType, parentPath: readonly PropertyKey[], key: string): string {
  const known = knownKeysAt(schema, parentPath);
  if (!known || known.length === 0) return '';
  const lower = key.toLowerCase().replaceAll('-', '_');
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(lower, k);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  if (best !== undefined && bestDistance <= Math.max(2, Math.floor(best.length / 3))) return `; did you mean "${best}"?`;
  return `; allowed here: ${known.join(', ')}`;
}
