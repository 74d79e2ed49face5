import { Autocomplete, Badge, Button, Group, MultiSelect, Select, TextInput } from '@mantine/core';
import { memo, useMemo, useState } from 'react';
import { ChannelIcon } from '../../components/ChannelIcon';
import { useI18n, useMessages } from '../../i18n';
import { useDebouncedCommit, useMembers } from './data';
import { DateRangeFilter } from './DateRangeFilter';
import { activeFilterCount, CHANNELS, type Channel, type LogFilters, STATUSES, type StatusFilter } from './filters';
import { LOG_MESSAGES } from './messages';

/** GA4 default channel groups: the source filter matches one of them or a source label (utm_source / host). */
const SOURCE_SUGGESTIONS = [
  'direct',
  'google',
  'facebook',
  'Organic Search',
  'Paid Search',
  'Organic Social',
  'Paid Social',
  'Referral',
  'Email',
  'Direct',
];

export function SearchIcon() {
  return (
    <svg
      width="16"
      height="16"
      viewBox="0 0 24 24"
      aria-hidden="true"
      fill="none"
      stroke="currentColor"
      strokeWidth="2"
    >
      <circle cx="11" cy="11" r="7" />
      <path d="M20 20l-3.5-3.5" strokeLinecap="round" />
    </svg>
  );
}

/**
 * The log's filters: search, employees, request date (presets and a custom range, in the project's
 * time zone), channel, status, source. Every change goes to the URL; text fields after a pause.
 * On a phone only the search shows until "Filters" is pressed.
 */
export const FilterBar = memo(function FilterBar({
  filters,
  setFilters,
  onReset,
  compact,
}: {
  filters: LogFilters;
  setFilters: (patch: Partial<LogFilters>) => void;
  onReset: () => void;
  compact: boolean;
}) {
  const m = useMessages(LOG_MESSAGES);
  const { t } = useI18n();
  const members = useMembers();
  const [expanded, setExpanded] = useState(false);
  const q = useDebouncedCommit(filters.q, (v) => setFilters({ q: v }));
  const source = useDebouncedCommit(filters.source, (v) => setFilters({ source: v }));

  const memberData = useMemo(
    () => (members.data ?? []).map((u) => ({ value: String(u.id), label: u.name })),
    // Filtering by an id of someone no longer in the project still shows something.
    [members.data],
  );
  const memberValues = filters.managerId.map(String);
  const memberOptions = useMemo(() => {
    const known = new Set(memberData.map((d) => d.value));
    return [...memberData, ...memberValues.filter((v) => !known.has(v)).map((v) => ({ value: v, label: `#${v}` }))];
  }, [memberData, memberValues]);

  const channelData = useMemo(() => CHANNELS.map((c) => ({ value: c, label: t(`channel.${c}`) })), [t]);
  const statusData = useMemo(() => STATUSES.map((s) => ({ value: s, label: t(`status.${s}`) })), [t]);
  const active = activeFilterCount(filters);
  const showAll = !compact || expanded;

  return (
    <Group gap="xs" align="flex-end" wrap="wrap" className="dz-filters" data-testid="log-filters">
      <TextInput
        label={m('filter.search')}
        placeholder={m('filter.searchPlaceholder')}
        leftSection={<SearchIcon />}
        value={q.value}
        onChange={(e) => q.onChange(e.currentTarget.value)}
        onKeyDown={(e) => e.key === 'Enter' && q.flush()}
        type="search"
        size="xs"
        className="dz-f-search"
        data-testid="filter-q"
      />
      {compact && (
        <Button
          size="xs"
          variant={expanded ? 'filled' : 'default'}
          onClick={() => setExpanded((v) => !v)}
          aria-expanded={expanded}
          rightSection={
            active > 0 ? (
              <Badge size="xs" circle>
                {active}
              </Badge>
            ) : null
          }
        >
          {m('filter.toggle')}
        </Button>
      )}
      {showAll && (
        <>
          <MultiSelect
            label={m('filter.employees')}
            placeholder={filters.managerId.length ? undefined : m('filter.everyone')}
            data={memberOptions}
            value={memberValues}
            onChange={(v) => setFilters({ managerId: v.map(Number) })}
            searchable
            clearable
            size="xs"
            className="dz-f-managers"
            nothingFoundMessage="—"
            data-testid="filter-managers"
            comboboxProps={{ withinPortal: true }}
          />
          <DateRangeFilter from={filters.from} to={filters.to} onChange={(from, to) => setFilters({ from, to })} />
          <MultiSelect
            label={m('filter.channel')}
            placeholder={filters.channel.length ? undefined : m('filter.allChannels')}
            data={channelData}
            value={filters.channel}
            onChange={(v) => setFilters({ channel: v as Channel[] })}
            renderOption={({ option }) => (
              <Group gap={6} wrap="nowrap">
                <ChannelIcon channel={option.value as Channel} label="" size={16} />
                {option.label}
              </Group>
            )}
            clearable
            size="xs"
            className="dz-f-channels"
            data-testid="filter-channels"
          />
          <Select
            label={m('filter.status')}
            data={statusData}
            value={filters.status}
            onChange={(v) => v && setFilters({ status: v as StatusFilter })}
            allowDeselect={false}
            size="xs"
            className="dz-f-status"
            data-testid="filter-status"
          />
          <Autocomplete
            label={m('filter.source')}
            placeholder={m('filter.sourcePlaceholder')}
            data={SOURCE_SUGGESTIONS}
            value={source.value}
            onChange={source.onChange}
            onOptionSubmit={(v) => setFilters({ source: v })}
            onKeyDown={(e) => e.key === 'Enter' && source.flush()}
            size="xs"
            className="dz-f-source"
            data-testid="filter-source"
          />
          {active > 0 && (
            <Button size="xs" variant="subtle" onClick={onReset} data-testid="filter-reset">
              {m('filter.reset')}
            </Button>
          )}
        </>
      )}
    </Group>
  );
});
