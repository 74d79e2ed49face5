/**
 * Calendar dates (YYYY-MM-DD) without a date library: the presets of the date filter and their
 * display. "Today" is today in the project's time zone (format.ts `day()`), the arithmetic is on the
 * calendar date itself, so daylight-saving changes cannot shift a day.
 */

const parse = (day: string) => {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return Date.UTC(y, m - 1, d);
};
const format = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export function addDays(day: string, n: number): string {
  return format(parse(day) + n * 86_400_000);
}

export type PresetId = 'today' | 'yesterday' | 'last7' | 'thisMonth';
export const PRESETS: readonly PresetId[] = ['today', 'yesterday', 'last7', 'thisMonth'];

export function presetRange(id: PresetId, today: string): [string, string] {
  switch (id) {
    case 'today':
      return [today, today];
    case 'yesterday':
      return [addDays(today, -1), addDays(today, -1)];
    case 'last7':
      return [addDays(today, -6), today];
    case 'thisMonth':
      return [`${today.slice(0, 8)}01`, today];
  }
}

export function matchingPreset(from: string | null, to: string | null, today: string): PresetId | null {
  if (!from || !to) return null;
  return (
    PRESETS.find((p) => {
      const [a, b] = presetRange(p, today);
      return a === from && b === to;
    }) ?? null
  );
}

/** "3 lis 2026" / "3 Nov 2026": a calendar date in the user's language. */
export function dayLabel(day: string, intlLocale: string): string {
  return new Intl.DateTimeFormat(intlLocale, {
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    timeZone: 'UTC',
  }).format(parse(day));
}
