/*
 * Times of day for the digest and quiet hours, in the gateway's local time (TZ), computed from any clock's
 * epoch ms so a test clock moves them too.
 */

const HHMM = /^([01]?\d|2[0-3]):([0-5]\d)$/;

/** "07:00" → minutes after midnight. */
export function parseClock(v: string): number {
  const m = HHMM.exec(v.trim());
  if (!m) throw new Error(`expected a time of day as HH:MM (24 h), e.g. "07:00", got ${JSON.stringify(v)}`);
  return Number(m[1]) * 60 + Number(m[2]);
}

export interface QuietHours {
  readonly from: number;
  readonly to: number;
}

/** "23:00-07:00" → minutes; a window may span midnight. */
export function parseQuietHours(v: string): QuietHours {
  const parts = v.split('-');
  if (parts.length !== 2) throw new Error(`expected quiet hours as HH:MM-HH:MM, e.g. "23:00-07:00", got ${JSON.stringify(v)}`);
  const from = parseClock(parts[0]!);
  const to = parseClock(parts[1]!);
  if (from === to) throw new Error(`quiet hours ${JSON.stringify(v)} start and end at the same time`);
  return { from, to };
}

const minuteOfDay = (t: number): number => {
  const d = new Date(t);
  return d.getHours() * 60 + d.getMinutes();
};

/** The next instant (> after) whose local time is `minute` past midnight. */
export function nextAt(after: number, minute: number): number {
  const d = new Date(after);
  d.setHours(Math.floor(minute / 60), minute % 60, 0, 0);
  let t = d.getTime();
  while (t <= after) {
    d.setDate(d.getDate() + 1);
    d.setHours(Math.floor(minute / 60), minute % 60, 0, 0);
    t = d.getTime();
  }
  return t;
}

export function inQuietHours(t: number, q: QuietHours): boolean {
  const m = minuteOfDay(t);
  return q.from < q.to ? m >= q.from && m < q.to : m >= q.from || m < q.to;
}

/** `t` itself when outside quiet hours, else the end of the quiet window it falls in. */
export function afterQuiet(t: number, q: QuietHours | undefined): number {
  if (!q || !inQuietHours(t, q)) return t;
  return nextAt(t, q.to);
}

/** Local midnight starting the day before the one `t` falls in, and the midnight after it: "yesterday". */
export function yesterday(t: number): { from: number; to: number } {
  const d = new Date(t);
  d.setHours(0, 0, 0, 0);
  const to = d.getTime();
  d.setDate(d.getDate() - 1);
  return { from: d.getTime(), to };
}
