import {
  Anchor,
  Button,
  Group,
  Paper,
  SegmentedControl,
  Select,
  SimpleGrid,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useSearchParams } from 'react-router';
import { get, qs } from '../../api';
import { Empty, Failure, Loading } from '../../components/States';
import { useFormat } from '../../format';
import { useI18n, useMessages } from '../../i18n';
import { useProject } from '../../session';
import { ANALYTICS_MESSAGES } from './messages';
import { TrendChart } from './TrendChart';

export interface Figures {
  total: number;
  new: number;
  closed: number;
  closedWithoutReply: number;
  openIdle: number;
  medianFirstResponseSeconds: number | null;
  avgMedianResponseSeconds: number | null;
}
export interface AnalyticsResponse {
  period: { from: string; to: string; timeZone: string };
  totals: Figures;
  managers: (Figures & { managerId: number | null; managerName: string | null })[];
  trend: {
    unit: 'day' | 'week' | 'month';
    buckets: { start: string; new: number; closed: number; medianFirstResponseSeconds: number | null }[];
  };
}

const CHANNELS = ['telegram', 'viber', 'messenger', 'sms'] as const;
const TRENDS = ['day', 'week', 'month'] as const;

function addDays(date: string, n: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

/** Seconds as "42 s", "3 min 5 s", "2 h 10 min". */
export function duration(s: number | null): string {
  if (s === null) return '—';
  const t = Math.round(s);
  if (t < 60) return `${t} s`;
  if (t < 3600) return `${Math.floor(t / 60)} min ${t % 60} s`;
  return `${Math.floor(t / 3600)} h ${Math.floor((t % 3600) / 60)} min`;
}

export default function AnalyticsView() {
  const m = useMessages(ANALYTICS_MESSAGES);
  const { intlLocale } = useI18n();
  const { project } = useProject();
  const fmt = useFormat();
  const [sp, setSp] = useSearchParams();
  const today = fmt.day(new Date());
  const from = sp.get('from') || addDays(today, -29);
  const to = sp.get('to') || today;
  const channel = sp.get('channel') || '';
  const source = sp.get('source') || '';
  const q = sp.get('q') || '';
  const trend = (TRENDS as readonly string[]).includes(sp.get('trend') ?? '') ? sp.get('trend')! : 'day';
  const set = (k: string, v: string) =>
    setSp(
      (prev) => {
        const n = new URLSearchParams(prev);
        if (v) n.set(k, v);
        else n.delete(k);
        return n;
      },
      { replace: true },
    );
  const params = { from, to, channel, source, q, trend };
  const base = `/api/v1/projects/${project.id}/analytics`;
  const query = useQuery({
    queryKey: ['analytics', project.id, params],
    queryFn: ({ signal }) => get<AnalyticsResponse>(`${base}${qs({ ...params, groupBy: 'manager' })}`, signal),
    placeholderData: keepPreviousData,
  });
  const num = new Intl.NumberFormat(intlLocale);
  const data = query.data;
  const kpis: [string, string, string][] = data
    ? [
        ['total', m('kpi.total'), num.format(data.totals.total)],
        ['new', m('kpi.new'), num.format(data.totals.new)],
        ['closed', m('kpi.closed'), num.format(data.totals.closed)],
        ['closedWithoutReply', m('kpi.closedWithoutReply'), num.format(data.totals.closedWithoutReply)],
        ['openIdle', m('kpi.openIdle'), num.format(data.totals.openIdle)],
        ['firstResponse', m('kpi.firstResponse'), duration(data.totals.medianFirstResponseSeconds)],
        ['response', m('kpi.response'), duration(data.totals.avgMedianResponseSeconds)],
      ]
    : [];
  const cells = (f: Figures) => [
    num.format(f.total),
    num.format(f.new),
    num.format(f.closed),
    num.format(f.closedWithoutReply),
    num.format(f.openIdle),
    duration(f.medianFirstResponseSeconds),
    duration(f.avgMedianResponseSeconds),
  ];
  return (
    <Stack gap="md" p="md">
      <Title order={1} size="h2">
        {m('title')}
      </Title>
      <Text size="sm" c="gray.7">
        {m('help', { tz: project.timeZone })}
      </Text>
      <Group align="flex-end" gap="sm" wrap="wrap">
        <TextInput
          type="date"
          label={m('filter.from')}
          value={from}
          onChange={(e) => set('from', e.currentTarget.value)}
        />
        <TextInput type="date" label={m('filter.to')} value={to} onChange={(e) => set('to', e.currentTarget.value)} />
        <Select
          label={m('filter.channel')}
          data={[{ value: '', label: m('filter.allChannels') }, ...CHANNELS.map((c) => ({ value: c, label: c }))]}
          value={channel}
          onChange={(v) => set('channel', v ?? '')}
          allowDeselect={false}
        />
        <TextInput
          label={m('filter.source')}
          defaultValue={source}
          onBlur={(e) => set('source', e.currentTarget.value.trim())}
        />
        <TextInput
          label={m('filter.search')}
          defaultValue={q}
          onKeyDown={(e) => {
            if (e.key === 'Enter') set('q', e.currentTarget.value.trim());
          }}
          onBlur={(e) => set('q', e.currentTarget.value.trim())}
        />
        <Stack gap={4}>
          <Text size="sm" fw={500} id="analytics-trend-label">
            {m('filter.trend')}
          </Text>
          <SegmentedControl
            aria-labelledby="analytics-trend-label"
            value={trend}
            onChange={(v) => set('trend', v)}
            data={TRENDS.map((t) => ({ value: t, label: m(`trend.${t}`) }))}
          />
        </Stack>
      </Group>
      {query.isPending ? (
        <Loading />
      ) : query.isError ? (
        <Failure error={query.error} onRetry={() => void query.refetch()} />
      ) : data && data.totals.total === 0 ? (
        <Empty>{m('empty')}</Empty>
      ) : data ? (
        <>
          <SimpleGrid cols={{ base: 2, sm: 4, lg: 7 }} spacing="sm">
            {kpis.map(([key, label, value]) => (
              <Paper key={key} withBorder p="sm" data-kpi={key}>
                <Text size="xs" c="gray.7">
                  {label}
                </Text>
                <Text size="xl" fw={700} data-value>
                  {value}
                </Text>
              </Paper>
            ))}
          </SimpleGrid>
          <Paper withBorder p="sm">
            <TrendChart
              title={m('chart.title')}
              labels={{ new: m('chart.new'), closed: m('chart.closed') }}
              summary={m('chart.summary', {
                n: data.trend.buckets.length,
                new: data.totals.new,
                closed: data.totals.closed,
              })}
              buckets={data.trend.buckets}
            />
          </Paper>
          <Group justify="space-between">
            <Title order={2} size="h4">
              {m('table.managers')}
            </Title>
            <Group gap="xs">
              <Button
                component="a"
                variant="default"
                size="xs"
                href={`${base}/export${qs({ ...params, table: 'summary' })}`}
                download
              >
                {m('export.summary')}
              </Button>
              <Button
                component="a"
                variant="default"
                size="xs"
                href={`${base}/export${qs({ ...params, table: 'trend' })}`}
                download
              >
                {m('export.trend')}
              </Button>
            </Group>
          </Group>
          <Table.ScrollContainer minWidth={800}>
            <Table striped highlightOnHover data-testid="analytics-managers">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{m('table.manager')}</Table.Th>
                  <Table.Th>{m('kpi.total')}</Table.Th>
                  <Table.Th>{m('kpi.new')}</Table.Th>
                  <Table.Th>{m('kpi.closed')}</Table.Th>
                  <Table.Th>{m('kpi.closedWithoutReply')}</Table.Th>
                  <Table.Th>{m('kpi.openIdle')}</Table.Th>
                  <Table.Th>{m('kpi.firstResponse')}</Table.Th>
                  <Table.Th>{m('kpi.response')}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {data.managers.map((r) => (
                  <Table.Tr key={r.managerId ?? 0}>
                    <Table.Td>
                      {r.managerId === null ? m('table.unassigned') : (r.managerName ?? `#${r.managerId}`)}
                    </Table.Td>
                    {cells(r).map((c, i) => (
                      // biome-ignore lint/suspicious/noArrayIndexKey: fixed columns
                      <Table.Td key={i}>{c}</Table.Td>
                    ))}
                  </Table.Tr>
                ))}
              </Table.Tbody>
              <Table.Tfoot>
                <Table.Tr>
                  <Table.Th>{m('table.total')}</Table.Th>
                  {cells(data.totals).map((c, i) => (
                    // biome-ignore lint/suspicious/noArrayIndexKey: fixed columns
                    <Table.Th key={i}>{c}</Table.Th>
                  ))}
                </Table.Tr>
              </Table.Tfoot>
            </Table>
          </Table.ScrollContainer>
          <Anchor size="xs" href={`${base}${qs({ ...params, groupBy: 'manager' })}`} target="_blank">
            JSON
          </Anchor>
        </>
      ) : null}
    </Stack>
  );
}
