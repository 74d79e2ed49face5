import { Button, CloseButton, Input, Popover, Stack } from '@mantine/core';
import { lazy, Suspense, useEffect, useId, useState } from 'react';
import { Loading } from '../../components/States';
import { useFormat } from '../../format';
import { useI18n, useMessages } from '../../i18n';
import { dayLabel, matchingPreset, PRESETS, type PresetId, presetRange } from './dates';
import { LOG_MESSAGES } from './messages';

const loadCalendar = () => import('./RangeCalendar');
const RangeCalendar = lazy(loadCalendar);

const PRESET_LABEL = {
  today: 'preset.today',
  yesterday: 'preset.yesterday',
  last7: 'preset.last7',
  thisMonth: 'preset.thisMonth',
} as const satisfies Record<PresetId, string>;

/**
 * The request-date filter: presets (today, yesterday, last 7 days, this month) one click away, and
 * a custom range in a calendar. Dates are calendar days in the project's time zone. The calendar
 * (Mantine dates + dayjs) is a separate chunk fetched on first hover or open, which keeps it out of
 * the page's first load.
 */
export function DateRangeFilter({
  from,
  to,
  onChange,
}: {
  from: string | null;
  to: string | null;
  onChange: (from: string | null, to: string | null) => void;
}) {
  const m = useMessages(LOG_MESSAGES);
  const { locale, intlLocale, t } = useI18n();
  const fmt = useFormat();
  const id = useId();
  const [opened, setOpened] = useState(false);
  const [draft, setDraft] = useState<[string | null, string | null]>([from, to]);
  useEffect(() => setDraft([from, to]), [from, to]);
  const today = fmt.day(new Date());
  const preset = matchingPreset(from, to, today);

  const display =
    from && to
      ? preset
        ? m(PRESET_LABEL[preset])
        : from === to
          ? dayLabel(from, intlLocale)
          : `${dayLabel(from, intlLocale)} – ${dayLabel(to, intlLocale)}`
      : from
        ? `≥ ${dayLabel(from, intlLocale)}`
        : to
          ? `≤ ${dayLabel(to, intlLocale)}`
          : m('filter.anyTime');

  const pick = (a: string | null, b: string | null) => {
    setDraft([a, b]);
    if ((a && b) || (!a && !b)) {
      onChange(a, b);
      setOpened(false);
    }
  };

  return (
    <Input.Wrapper label={m('filter.period')} size="xs" className="dz-f-dates" labelProps={{ id: `${id}-label` }}>
      <Popover opened={opened} onChange={setOpened} position="bottom-start" shadow="md" trapFocus withArrow>
        <Popover.Target>
          <Input
            component="button"
            type="button"
            size="xs"
            pointer
            aria-haspopup="dialog"
            aria-expanded={opened}
            aria-labelledby={`${id}-label ${id}-value`}
            onClick={() => setOpened((o) => !o)}
            onMouseEnter={() => void loadCalendar()}
            onFocus={() => void loadCalendar()}
            rightSection={
              from || to ? (
                <CloseButton
                  size="sm"
                  aria-label={t('common.cancel')}
                  onClick={(e) => {
                    e.stopPropagation();
                    pick(null, null);
                  }}
                  data-testid="filter-dates-clear"
                />
              ) : null
            }
            rightSectionPointerEvents="all"
            data-testid="filter-dates"
          >
            <span id={`${id}-value`} className={from || to ? undefined : 'dz-placeholder'}>
              {display}
            </span>
          </Input>
        </Popover.Target>
        <Popover.Dropdown aria-label={m('filter.period')}>
          <div className="dz-range">
            <Stack gap={4} className="dz-range-presets">
              {PRESETS.map((p) => (
                <Button
                  key={p}
                  size="compact-sm"
                  variant={preset === p ? 'light' : 'subtle'}
                  justify="flex-start"
                  onClick={() => pick(...presetRange(p, today))}
                  data-testid={`preset-${p}`}
                >
                  {m(PRESET_LABEL[p])}
                </Button>
              ))}
              <Button
                size="compact-sm"
                variant={!from && !to ? 'light' : 'subtle'}
                justify="flex-start"
                onClick={() => pick(null, null)}
                data-testid="preset-all"
              >
                {m('filter.anyTime')}
              </Button>
            </Stack>
            <Suspense fallback={<Loading />}>
              <RangeCalendar
                locale={locale}
                value={draft}
                onChange={(v) => pick(v[0], v[1])}
                today={today}
                ariaLabels={{
                  previousMonth: m('cal.previousMonth'),
                  nextMonth: m('cal.nextMonth'),
                  previousYear: m('cal.previousYear'),
                  nextYear: m('cal.nextYear'),
                  previousDecade: m('cal.previousDecade'),
                  nextDecade: m('cal.nextDecade'),
                }}
              />
            </Suspense>
          </div>
        </Popover.Dropdown>
      </Popover>
    </Input.Wrapper>
  );
}
