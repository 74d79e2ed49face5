import { useCallback, useMemo } from 'react';
import { useLocation, useNavigate, useSearchParams } from 'react-router';
import type { Dialog } from '../../api';

/**
 * The log's filters and the open dialog live in the URL (SPEC §4.5): a shared link reproduces the
 * view, and back/forward walk through filter changes. Defaults are left out of the URL, so the
 * plain `/p/1/log` is the default view (closed dialogs, newest first).
 */

export type Channel = Dialog['channel'];
export const CHANNELS: readonly Channel[] = ['telegram', 'viber', 'messenger', 'sms'];
export const STATUSES = ['closed', 'new', 'open', 'all'] as const;
export type StatusFilter = (typeof STATUSES)[number];
export type SortBy = 'created' | 'manager';
export type Order = 'asc' | 'desc';

export interface LogFilters {
  status: StatusFilter;
  managerId: number[];
  /** YYYY-MM-DD in the project's time zone, inclusive. */
  from: string | null;
  to: string | null;
  channel: Channel[];
  source: string;
  q: string;
  sort: SortBy;
  /** null: the sort's default (newest first by date, A–Z by manager). */
  order: Order | null;
}

export const DEFAULT_FILTERS: LogFilters = {
  status: 'closed',
  managerId: [],
  from: null,
  to: null,
  channel: [],
  source: '',
  q: '',
  sort: 'created',
  order: null,
};

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const FILTER_PARAMS = ['status', 'managerId', 'from', 'to', 'channel', 'source', 'q', 'sort', 'order'];

export function effectiveOrder(f: Pick<LogFilters, 'sort' | 'order'>): Order {
  return f.order ?? (f.sort === 'manager' ? 'asc' : 'desc');
}

/** Reads the filters from the URL; a malformed value is ignored (the default applies). */
export function parseFilters(sp: URLSearchParams): LogFilters {
  const status = sp.get('status');
  const sort = sp.get('sort');
  const order = sp.get('order');
  let from = sp.get('from');
  let to = sp.get('to');
  from = from && DATE.test(from) ? from : null;
  to = to && DATE.test(to) ? to : null;
  if (from && to && from > to) [from, to] = [to, from];
  const managerId = [
    ...new Set(
      sp
        .getAll('managerId')
        .map(Number)
        .filter((n) => Number.isSafeInteger(n) && n > 0),
    ),
  ];
  const channel = [...new Set(sp.getAll('channel'))].filter((c): c is Channel =>
    (CHANNELS as readonly string[]).includes(c),
  );
  return {
    status: (STATUSES as readonly string[]).includes(status ?? '') ? (status as StatusFilter) : 'closed',
    managerId,
    from,
    to,
    channel,
    source: (sp.get('source') ?? '').trim().slice(0, 200),
    q: (sp.get('q') ?? '').trim().slice(0, 200),
    sort: sort === 'manager' ? 'manager' : 'created',
    order: order === 'asc' || order === 'desc' ? order : null,
  };
}

/** Writes the filters into `sp` (other parameters, like `dialog`, are kept). */
export function writeFilters(sp: URLSearchParams, f: LogFilters): URLSearchParams {
  const out = new URLSearchParams(sp);
  for (const k of FILTER_PARAMS) out.delete(k);
  if (f.status !== 'closed') out.set('status', f.status);
  for (const id of f.managerId) out.append('managerId', String(id));
  if (f.from) out.set('from', f.from);
  if (f.to) out.set('to', f.to);
  for (const c of f.channel) out.append('channel', c);
  if (f.source.trim()) out.set('source', f.source.trim());
  if (f.q.trim()) out.set('q', f.q.trim());
  if (f.sort !== 'created') out.set('sort', f.sort);
  if (f.order && f.order !== effectiveOrder({ sort: f.sort, order: null })) out.set('order', f.order);
  return out;
}

/** The API query of `GET .../dialogs` and `.../dialogs/export` for these filters. */
export function apiParams(f: LogFilters) {
  return {
    status: f.status,
    managerId: f.managerId,
    from: f.from,
    to: f.to,
    channel: f.channel,
    source: f.source.trim() || null,
    q: f.q.trim() || null,
    sort: f.sort,
    order: effectiveOrder(f),
  };
}

/** A stable key of the filters, for query keys (the order of repeated values does not matter). */
export function filtersKey(f: LogFilters): string {
  return JSON.stringify({
    ...apiParams(f),
    managerId: [...f.managerId].sort((a, b) => a - b),
    channel: [...f.channel].sort(),
  });
}

export function activeFilterCount(f: LogFilters): number {
  return (
    (f.status !== 'closed' ? 1 : 0) +
    (f.managerId.length > 0 ? 1 : 0) +
    (f.from || f.to ? 1 : 0) +
    (f.channel.length > 0 ? 1 : 0) +
    (f.source ? 1 : 0) +
    (f.q ? 1 : 0)
  );
}

interface HistoryState {
  /** Set when the modal was opened from the list, so closing it can go back instead of adding an entry. */
  logModal?: boolean;
}

/** The URL state of the page: filters, the open dialog, and the ways to change them. */
export function useLogUrl() {
  const [sp] = useSearchParams();
  const navigate = useNavigate();
  const location = useLocation();
  const search = sp.toString();
  const filters = useMemo(() => parseFilters(new URLSearchParams(search)), [search]);
  const dialogParam = Number(sp.get('dialog'));
  const dialogId = Number.isSafeInteger(dialogParam) && dialogParam > 0 ? dialogParam : null;

  /** The current search without `dialog`: what a row's link adds its id to. */
  const listSearch = useMemo(() => {
    const s = new URLSearchParams(search);
    s.delete('dialog');
    return s.toString();
  }, [search]);

  const setFilters = useCallback(
    (patch: Partial<LogFilters>, opts: { replace?: boolean } = {}) => {
      const next = writeFilters(new URLSearchParams(search), { ...filters, ...patch });
      next.delete('dialog');
      const s = next.toString();
      if (s === listSearch && !sp.has('dialog')) return;
      navigate({ search: s ? `?${s}` : '' }, { replace: opts.replace ?? false });
    },
    [filters, listSearch, navigate, search, sp],
  );

  const resetFilters = useCallback(() => {
    navigate({ search: '' });
  }, [navigate]);

  const openDialog = useCallback(
    (id: number) => {
      const s = new URLSearchParams(listSearch);
      s.set('dialog', String(id));
      navigate({ search: `?${s}` }, { state: { logModal: true } satisfies HistoryState });
    },
    [listSearch, navigate],
  );

  const closeDialog = useCallback(() => {
    if ((location.state as HistoryState | null)?.logModal) navigate(-1);
    else navigate({ search: listSearch ? `?${listSearch}` : '' }, { replace: true });
  }, [listSearch, location.state, navigate]);

  return { filters, dialogId, listSearch, setFilters, resetFilters, openDialog, closeDialog };
}

/** The `?...&dialog=ID` search of a row's link. */
export function dialogSearch(listSearch: string, id: number): string {
  return listSearch ? `?${listSearch}&dialog=${id}` : `?dialog=${id}`;
}
