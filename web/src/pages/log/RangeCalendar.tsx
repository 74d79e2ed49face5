import { type CalendarAriaLabels, DatePicker, DatesProvider } from '@mantine/dates';
import 'dayjs/locale/pl';
import 'dayjs/locale/uk';

/**
 * The calendar of the date filter (Mantine's DatePicker, a range, Monday first, in the user's
 * language). A chunk of its own, loaded when the filter is first opened or hovered.
 */
export default function RangeCalendar({
  locale,
  value,
  onChange,
  today,
  ariaLabels,
}: {
  ariaLabels: CalendarAriaLabels;
  locale: string;
  value: [string | null, string | null];
  onChange: (v: [string | null, string | null]) => void;
  today: string;
}) {
  return (
    <DatesProvider settings={{ locale, firstDayOfWeek: 1 }}>
      <DatePicker
        type="range"
        value={value}
        onChange={(v) => onChange([v[0] ? String(v[0]).slice(0, 10) : null, v[1] ? String(v[1]).slice(0, 10) : null])}
        allowSingleDateInRange
        ariaLabels={ariaLabels}
        hideOutsideDates
        classNames={{ weekday: 'dz-cal-weekday', day: 'dz-cal-day' }}
        defaultDate={value[1] ?? value[0] ?? today}
        size="sm"
      />
    </DatesProvider>
  );
}
