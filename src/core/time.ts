/**
 * Time-zone arithmetic without a library: the platform's Intl data is authoritative and complete.
 * All instants are epoch milliseconds (the store keeps them as integers on both dialects).
 */

const offsetFormatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = offsetFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    offsetFormatters.set(timeZone, f);
  }
  return f;
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** Offset of `timeZone` from UTC at instant `ms`, in minutes (Warsaw in summer: +120). */
export function zoneOffsetMinutes(ms: number, timeZone: string): number {
  const parts = formatterFor(timeZone).formatToParts(new Date(ms));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  const floored = ms - (((ms % 1000) + 1000) % 1000);
  return Math.round((asUtc - floored) / 60000);
}

/**
 * The instant at which the local wall-clock time `y-m-d h:mi` occurs in `timeZone`. For a time that
 * does not exist (the spring-forward gap) the instant just after the gap; for one that occurs twice
 * (autumn), the first occurrence.
 */
export function zonedWallTimeToInstant(
  y: number,
  m: number,
  d: number,
  h: number,
  mi: number,
  timeZone: string,
): number {
  const wall = Date.UTC(y, m - 1, d, h, mi);
  // The offsets in force half a day before and after bound every transition near this wall time.
  const before = zoneOffsetMinutes(wall - 43200000, timeZone);
  const after = zoneOffsetMinutes(wall + 43200000, timeZone);
  const valid = [wall - before * 60000, wall - after * 60000].filter(
    (t) => zoneOffsetMinutes(t, timeZone) * 60000 === wall - t,
  );
  if (valid.length > 0) return Math.min(...valid);
  // A wall time in the spring-forward gap never happens: read it with the earlier offset, which
  // lands just past the jump (as Temporal's "compatible" disambiguation does).
  return wall - before * 60000;
}

/** Midnight starting the local calendar day `yyyy-mm-dd` in `timeZone`. */
export function startOfLocalDay(isoDate: string, timeZone: string): number {
  const [y, m, d] = isoDate.split('-').map(Number) as [number, number, number];
  return zonedWallTimeToInstant(y, m, d, 0, 0, timeZone);
}

/** Midnight starting the local day after `yyyy-mm-dd`: the exclusive end of that day. */
export function startOfNextLocalDay(isoDate: string, timeZone: string): number {
  const [y, m, d] = isoDate.split('-').map(Number) as [number, number, number];
  const next = new Date(Date.UTC(y, m - 1, d + 1));
  return zonedWallTimeToInstant(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), 0, 0, timeZone);
}

/** True for a real calendar date written `yyyy-mm-dd` (rejects 2026-02-30). */
export function isCalendarDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(Date.UTC(y, mo - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d;
}

/**
 * Formats instants as ISO 8601 with the zone's offset (`2026-03-29T03:30:00+02:00`). Offsets are
 * cached per UTC quarter-hour, since zone transitions fall on those boundaries; this keeps CSV
 * export at hundreds of thousands of rows per second.
 */
export function makeZonedIsoFormatter(timeZone: string): (ms: number) => string {
  const cache = new Map<number, string>();
  const offsetMin = new Map<number, number>();
  return (ms: number) => {
    const bucket = Math.floor(ms / 900000);
    let off = offsetMin.get(bucket);
    let suffix = cache.get(bucket);
    if (off === undefined || suffix === undefined) {
      off = zoneOffsetMinutes(ms, timeZone);
      const sign = off < 0 ? '-' : '+';
      const abs = Math.abs(off);
      suffix = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
      if (offsetMin.size > 100000) {
        offsetMin.clear();
        cache.clear();
      }
      offsetMin.set(bucket, off);
      cache.set(bucket, suffix);
    }
    // toISOString gives `YYYY-MM-DDTHH:mm:ss.sssZ`; drop milliseconds and the Z.
    return new Date(ms + off * 60000).toISOString().slice(0, 19) + suffix;
  };
}

/** The local calendar date (`yyyy-mm-dd`) of an instant in a zone. */
export function localDate(ms: number, timeZone: string): string {
  return new Date(ms + zoneOffsetMinutes(ms, timeZone) * 60000).toISOString().slice(0, 10);
}
