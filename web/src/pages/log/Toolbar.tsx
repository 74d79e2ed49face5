import { memo } from 'react';
import { ActionIcon, Button, Checkbox, Group, Popover, Radio, Select, Stack, Text } from '@mantine/core';
import { qs } from '../../api';
import { useMessages } from '../../i18n';
import { useProject } from '../../session';
import { COLUMN_LABEL } from './cells';
import { OPTIONAL_COLUMNS, type OptionalColumn, useStoredChoice } from './data';
import { apiParams, type LogFilters, type Order, type SortBy } from './filters';
import { LOG_MESSAGES } from './messages';

const DELIMITERS = [';', ','] as const;
type Delimiter = (typeof DELIMITERS)[number];

/** The export URL of exactly what is filtered: the session cookie authenticates the GET. */
export function exportHref(base: string, filters: LogFilters, kind: 'dialogs' | 'messages', delimiter: Delimiter) {
  return `${base}/dialogs/export${qs({ ...apiParams(filters), kind, delimiter })}`;
}

/** Export of the filtered dialogs or their messages as CSV, with the delimiter remembered. */
export const ExportMenu = memo(function ExportMenu({ filters }: { filters: LogFilters }) {
  const m = useMessages(LOG_MESSAGES);
  const { base } = useProject();
  const [delimiter, setDelimiter] = useStoredChoice<Delimiter>('dziennik.log.delimiter', DELIMITERS, ';');
  return (
    <Popover position="bottom-end" withArrow shadow="md" width={310} trapFocus>
      <Popover.Target>
        <Button size="xs" variant="default" data-testid="export-button" leftSection={<DownloadIcon />}>
          {m('export')}
        </Button>
      </Popover.Target>
      <Popover.Dropdown>
        <Stack gap="xs">
          <Text size="xs" c="gray.7">
            {m('export.hint')}
          </Text>
          <Radio.Group
            label={m('export.delimiter')}
            value={delimiter}
            onChange={(v) => setDelimiter(v as Delimiter)}
            size="xs"
          >
            <Stack gap={6} mt={4}>
              <Radio value=";" label={m('export.semicolon')} data-testid="delimiter-semicolon" />
              <Radio value="," label={m('export.comma')} data-testid="delimiter-comma" />
            </Stack>
          </Radio.Group>
          <Button
            component="a"
            href={exportHref(base, filters, 'dialogs', delimiter)}
            download
            size="xs"
            data-testid="export-dialogs"
          >
            {m('export.dialogs')}
          </Button>
          <Button
            component="a"
            href={exportHref(base, filters, 'messages', delimiter)}
            download
            size="xs"
            variant="light"
            data-testid="export-messages"
          >
            {m('export.messages')}
          </Button>
        </Stack>
      </Popover.Dropdown>
    </Popover>
  );
});

/** Switches the optional columns on and off (remembered in this browser). */
export const ColumnsMenu = memo(function ColumnsMenu({
  value,
  onToggle,
}: {
  value: readonly OptionalColumn[];
  onToggle: (c: OptionalColumn, on: boolean) => void;
}) {
  const m = useMessages(LOG_MESSAGES);
  return (
    <Popover position="bottom-end" withArrow shadow="md" trapFocus>
      <Popover.Target>
        <Button size="xs" variant="default" data-testid="columns-button" leftSection={<ColumnsIcon />}>
          {m('columns')}
        </Button>
      </Popover.Target>
      <Popover.Dropdown>
        <Stack gap={8}>
          <Text size="xs" fw={600}>
            {m('columns.optional')}
          </Text>
          {OPTIONAL_COLUMNS.map((c) => (
            <Checkbox
              key={c}
              size="xs"
              label={m(COLUMN_LABEL[c])}
              checked={value.includes(c)}
              onChange={(e) => onToggle(c, e.currentTarget.checked)}
              data-testid={`column-${c}`}
            />
          ))}
        </Stack>
      </Popover.Dropdown>
    </Popover>
  );
});

/** Sorting where there are no column headers (the cards on a phone). */
export function SortControl({
  sort,
  order,
  onChange,
}: {
  sort: SortBy;
  order: Order;
  onChange: (sort: SortBy, order: Order) => void;
}) {
  const m = useMessages(LOG_MESSAGES);
  return (
    <Group gap={4} wrap="nowrap">
      <Select
        aria-label={m('sort.label')}
        size="xs"
        w={150}
        data={[
          { value: 'created', label: m('sort.created') },
          { value: 'manager', label: m('sort.manager') },
        ]}
        value={sort}
        allowDeselect={false}
        onChange={(v) => v && onChange(v as SortBy, v === 'manager' ? 'asc' : 'desc')}
        data-testid="sort-select"
      />
      <ActionIcon
        variant="default"
        size="input-xs"
        aria-label={order === 'asc' ? m('sort.asc') : m('sort.desc')}
        title={order === 'asc' ? m('sort.asc') : m('sort.desc')}
        onClick={() => onChange(sort, order === 'asc' ? 'desc' : 'asc')}
        data-testid="sort-order"
      >
        <svg
          width="14"
          height="14"
          viewBox="0 0 24 24"
          aria-hidden="true"
          fill="none"
          stroke="currentColor"
          strokeWidth="2"
          style={{ transform: order === 'asc' ? 'rotate(180deg)' : undefined }}
        >
          <path d="M12 5v14m0 0l-5-5m5 5l5-5" strokeLinecap="round" strokeLinejoin="round" />
        </svg>
      </ActionIcon>
    </Group>
  );
}

function DownloadIcon() {
  return (
    <svg
      width="14"
      height="14"
      viewBox="0 0 24 24"
      aria-hidden="true"
      fill="none"
      stroke="currentColor"
      strokeWidth="2"
    >
      <path d="M12 4v11m0 0l-4.5-4.5M12 15l4.5-4.5M5 19h14" strokeLinecap="round" strokeLinejoin="round" />
    </svg>
  );
}

function ColumnsIcon() {
  return (
    <svg
      width="14"
      height="14"
      viewBox="0 0 24 24"
      aria-hidden="true"
      fill="none"
      stroke="currentColor"
      strokeWidth="2"
    >
      <rect x="3.5" y="4.5" width="17" height="15" rx="2" />
      <path d="M9.5 4.5v15M15 4.5v15" />
    </svg>
  );
}
