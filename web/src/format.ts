import { useMemo } from 'react';
import { useI18n } from './i18n';
import { useProject } from './session';

/** Dates and times in the project's time zone, in the user's language (SPEC §4.4). */
export function useFormat() {
  const { intlLocale } = useI18n();
  const { project } = useProject();
  return useMemo(() => {
    const tz = project.timeZone;
    const dateTime = new Intl.DateTimeFormat(intlLocale, { timeZone: tz, dateStyle: 'short', timeStyle: 'short' });
    const date = new Intl.DateTimeFormat(intlLocale, { timeZone: tz, dateStyle: 'medium' });
    const time = new Intl.DateTimeFormat(intlLocale, { timeZone: tz, timeStyle: 'short' });
    const full = new Intl.DateTimeFormat(intlLocale, { timeZone: tz, dateStyle: 'full', timeStyle: 'medium' });
    const dayKey = new Intl.DateTimeFormat('en-CA', {
      timeZone: tz,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    const iso = (v: string | null | undefined) => (v ? new Date(v) : null);
    return {
      timeZone: tz,
      dateTime: (v: string | null | undefined) => (iso(v) ? dateTime.format(iso(v)!) : ''),
      date: (v: string | null | undefined) => (iso(v) ? date.format(iso(v)!) : ''),
      time: (v: string | null | undefined) => (iso(v) ? time.format(iso(v)!) : ''),
      full: (v: string | null | undefined) => (iso(v) ? full.format(iso(v)!) : ''),
      /** YYYY-MM-DD of an instant in the project's zone (the API's `from`/`to` dates). */
      day: (d: Date) => dayKey.format(d),
    };
  }, [intlLocale, project.timeZone]);
}
