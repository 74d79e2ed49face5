// biome-ignore-all lint/a11y/useSemanticElements: virtualised rows are absolutely positioned grid boxes; <table> elements restyled like that lose their table semantics in some browsers, the ARIA table roles keep them
// biome-ignore-all lint/a11y/useFocusableInteractive: a row of a read-only table, not a grid widget; the row's link is its focus stop
import { memo, type ReactNode } from 'react';
import type { Dialog } from '../../api';
import { ChannelIcon } from '../../components/ChannelIcon';
import type { useFormat } from '../../format';
import type { Translate } from '../../i18n';
import type { OptionalColumn } from './data';
import { dialogSearch } from './filters';
import type { LogMessageKey } from './messages';
import { formatDuration } from './text';

/**
 * The log's cells, rows (table at desktop width) and cards (phone width). Plain elements and CSS
 * classes rather than a component per cell: a row is mounted for every few pixels scrolled, so it
 * has to be cheap (issue 4: 10,000 rows without dropped frames). For the same reason a row's link
 * is a plain <a href="?...&dialog=ID"> (the list handles its clicks, see LogList) and the source
 * tooltip is one element shared by the list, not a Tooltip per row.
 */

export type ColumnId = 'client' | 'channel' | 'lastResponder' | 'created' | 'manager' | 'source' | OptionalColumn;

/** Display order; the optional ones appear only when switched on. */
export const COLUMN_ORDER: readonly ColumnId[] = [
  'client',
  'channel',
  'status',
  'lastResponder',
  'created',
  'closedAt',
  'manager',
  'source',
  'messages',
  'firstResponse',
  'closeReason',
];
export const BASE_COLUMNS: readonly ColumnId[] = ['client', 'channel', 'lastResponder', 'created', 'manager', 'source'];

const TRACKS: Record<ColumnId, [track: string, min: number]> = {
  client: ['minmax(190px, 2fr)', 190],
  channel: ['72px', 72],
  status: ['100px', 100],
  lastResponder: ['minmax(130px, 1fr)', 130],
  created: ['minmax(128px, 0.9fr)', 128],
  closedAt: ['minmax(128px, 0.9fr)', 128],
  manager: ['minmax(140px, 1fr)', 140],
  source: ['minmax(170px, 1.3fr)', 170],
  messages: ['96px', 96],
  firstResponse: ['110px', 110],
  closeReason: ['minmax(140px, 1fr)', 140],
};

export const COLUMN_LABEL: Record<ColumnId, LogMessageKey> = {
  client: 'col.client',
  channel: 'col.channel',
  status: 'col.status',
  lastResponder: 'col.lastResponder',
  created: 'col.created',
  closedAt: 'col.closedAt',
  manager: 'col.manager',
  source: 'col.source',
  messages: 'col.messages',
  firstResponse: 'col.firstResponse',
  closeReason: 'col.closeReason',
};

export function gridOf(columns: readonly ColumnId[]) {
  return {
    template: columns.map((c) => TRACKS[c][0]).join(' '),
    // cell padding: 12px a side
    minWidth: columns.reduce((sum, c) => sum + TRACKS[c][1] + 24, 0),
  };
}

export interface CellContext {
  m: (k: LogMessageKey, v?: Record<string, string | number>) => string;
  t: Translate;
  fmt: ReturnType<typeof useFormat>;
}

export const ROW_HEIGHT = 52;
export const CARD_HEIGHT = 116;

/** The client's main name and the line under it (phone, or the messenger handle). */
export function clientLines(d: Dialog): { name: string; sub: string } {
  const handle = d.client.handle ? (d.client.handle.startsWith('@') ? d.client.handle : `@${d.client.handle}`) : null;
  const name = d.client.name || d.client.phone || handle || `#${d.client.id}`;
  const sub = [d.client.phone, handle].filter((v) => v && v !== name).join(' · ');
  return { name, sub };
}

function LastResponder({ d, ctx }: { d: Dialog; ctx: CellContext }) {
  const r = d.lastResponder;
  if (!r) return <span className="dz-muted">—</span>;
  if (r.type === 'client') return <span className="dz-who dz-who-client">{ctx.t('author.client')}</span>;
  return <span className="dz-who dz-who-manager">{r.name ?? ctx.t('author.manager')}</span>;
}

function Manager({ d, ctx }: { d: Dialog; ctx: CellContext }) {
  if (d.manager) return d.manager.name ?? `#${d.manager.id}`;
  return <span className="dz-muted">{ctx.m('unassigned')}</span>;
}

/** The visit's attribution as label/value pairs; `url` marks the addresses (shown as links). */
export function sourceDetails(
  s: NonNullable<Dialog['source']>,
  m: CellContext['m'],
): { label: string; value: string; url?: boolean }[] {
  const rows: { label: string; value: string | null; url?: boolean }[] = [
    { label: 'utm_source', value: s.utmSource },
    { label: 'utm_medium', value: s.utmMedium },
    { label: 'utm_campaign', value: s.utmCampaign },
    { label: 'utm_term', value: s.utmTerm },
    { label: 'utm_content', value: s.utmContent },
    { label: m('history.referrer'), value: s.referrer, url: true },
    { label: m('history.landing'), value: s.landingUrl, url: true },
    { label: m('history.clickIds'), value: s.clickIds },
  ];
  return rows.filter((r): r is { label: string; value: string; url?: boolean } => !!r.value);
}

function Source({ d, ctx }: { d: Dialog; ctx: CellContext }) {
  const s = d.source;
  if (!s) return <span className="dz-muted">—</span>;
  // The details (utm fields, referrer, landing page) show in the list's one shared tooltip.
  return (
    <span className="dz-src" data-tip={sourceDetails(s, ctx.m).length > 0 ? '' : undefined}>
      <span className="dz-src-label">{s.label ?? s.utmSource ?? ctx.m('noSource')}</span>
      {s.channelGroup && <span className="dz-badge">{s.channelGroup}</span>}
    </span>
  );
}

function Status({ d, ctx }: { d: Dialog; ctx: CellContext }) {
  return <span className={`dz-status dz-status-${d.status}`}>{ctx.t(`status.${d.status}`)}</span>;
}

function cell(c: ColumnId, d: Dialog, ctx: CellContext, search: string): ReactNode {
  switch (c) {
    case 'client': {
      const { name, sub } = clientLines(d);
      return (
        <>
          <a href={search} className="dz-log-link" data-row-link="">
            {name}
          </a>
          <span className="dz-sub">
            {d.senderLabel && (
              <span className="dz-tag" title={ctx.m('outboundOnly')}>
                {d.senderLabel}
              </span>
            )}
            {sub}
          </span>
        </>
      );
    }
    case 'channel':
      return <ChannelIcon channel={d.channel} label={ctx.t(`channel.${d.channel}`)} />;
    case 'status':
      return <Status d={d} ctx={ctx} />;
    case 'lastResponder':
      return <LastResponder d={d} ctx={ctx} />;
    case 'created':
      return <time dateTime={d.createdAt}>{ctx.fmt.dateTime(d.createdAt)}</time>;
    case 'closedAt':
      return d.closedAt ? <time dateTime={d.closedAt}>{ctx.fmt.dateTime(d.closedAt)}</time> : null;
    case 'manager':
      return <Manager d={d} ctx={ctx} />;
    case 'source':
      return <Source d={d} ctx={ctx} />;
    case 'messages':
      return `${d.messageCounts.in} / ${d.messageCounts.out}`;
    case 'firstResponse':
      return formatDuration(d.firstResponseSeconds, ctx.m);
    case 'closeReason':
      return d.closeReason ? <span title={d.closeReason}>{d.closeReason}</span> : null;
  }
}

interface RowProps {
  d: Dialog;
  index: number;
  start: number;
  columns: readonly ColumnId[];
  listSearch: string;
  ctx: CellContext;
}

export const LogRow = memo(function LogRow({ d, index, start, columns, listSearch, ctx }: RowProps) {
  const search = dialogSearch(listSearch, d.id);
  return (
    <div
      role="row"
      aria-rowindex={index + 2}
      className="dz-row"
      data-row-index={index}
      data-dialog-id={d.id}
      style={{ transform: `translateY(${start}px)` }}
    >
      {columns.map((c) => (
        <div role="cell" key={c} className={`dz-cell dz-c-${c}`}>
          {cell(c, d, ctx, search)}
        </div>
      ))}
    </div>
  );
});

export const LogCard = memo(function LogCard({ d, index, start, listSearch, ctx }: Omit<RowProps, 'columns'>) {
  const { name, sub } = clientLines(d);
  return (
    <div
      role="listitem"
      className="dz-card-item"
      data-row-index={index}
      data-dialog-id={d.id}
      style={{ transform: `translateY(${start}px)` }}
    >
      <a href={dialogSearch(listSearch, d.id)} className="dz-card" data-row-link="">
        <span className="dz-card-line dz-card-top">
          <ChannelIcon channel={d.channel} label={ctx.t(`channel.${d.channel}`)} size={18} />
          <span className="dz-card-name">{name}</span>
          <time dateTime={d.createdAt}>{ctx.fmt.dateTime(d.createdAt)}</time>
        </span>
        <span className="dz-card-line dz-sub">
          {d.senderLabel && (
            <span className="dz-tag" title={ctx.m('outboundOnly')}>
              {d.senderLabel}
            </span>
          )}
          <span className="dz-card-ellipsis">{sub}</span>
          {d.status !== 'closed' && <Status d={d} ctx={ctx} />}
          {d.source && (
            <span className="dz-card-src">
              {d.source.label ?? d.source.utmSource}
              {d.source.channelGroup && <span className="dz-badge">{d.source.channelGroup}</span>}
            </span>
          )}
        </span>
        <span className="dz-card-line">
          <span className="dz-card-label">{ctx.m('col.manager')}:</span>
          <span className="dz-card-ellipsis">
            <Manager d={d} ctx={ctx} />
          </span>
        </span>
        <span className="dz-card-line">
          <span className="dz-card-label">{ctx.m('col.lastResponder')}:</span>
          <span className="dz-card-ellipsis">
            <LastResponder d={d} ctx={ctx} />
          </span>
        </span>
      </a>
    </div>
  );
});
