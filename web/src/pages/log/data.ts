import { useLocalStorage } from '@mantine/hooks';
import { keepPreviousData, useInfiniteQuery, useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { type Dialog, get, type Member, type Page, qs } from '../../api';
import { useProject } from '../../session';
import { apiParams, filtersKey, type LogFilters } from './filters';

/** Rows per request: the first page small (it is on screen at once), the rest larger. */
export const FIRST_PAGE = 50;
export const PAGE = 200;
/** Rows compared by the change watcher. */
const HEAD = 20;
/** Up to this many loaded pages, a change is applied without asking. */
const AUTO_REFRESH_PAGES = 3;

const fingerprint = (items: readonly Dialog[]) =>
  items
    .slice(0, HEAD)
    .map((d) => `${d.id}:${d.status}:${d.manager?.id ?? ''}:${d.closedAt ?? ''}:${d.lastMessageAt ?? ''}`)
    .join('|');

/**
 * The log's rows, loaded by cursor as the user scrolls (useInfiniteQuery).
 *
 * Why two queries: the rows live under `['log', projectId, filters]`, outside the `['p', ...]` keys
 * the WebSocket invalidates — an infinite query refetches every loaded page when invalidated, and a
 * supervisor deep in 10,000 rows would re-download them all on every message of the project. A
 * small "head" query under `['p', projectId, 'dialogs', ...]` is what the live events refresh: when
 * the first rows differ from the loaded ones, a short list is refreshed at once, a long one offers
 * a refresh (so the rows being read do not jump).
 */
export function useLogList(filters: LogFilters) {
  const { project, base } = useProject();
  const qc = useQueryClient();
  const key = filtersKey(filters);
  const params = useMemo(() => apiParams(filters), [filters]);
  const listKey = useMemo(() => ['log', project.id, key] as const, [project.id, key]);
  const headKey = useMemo(() => ['p', project.id, 'dialogs', 'log-head', key] as const, [project.id, key]);

  const list = useInfiniteQuery({
    queryKey: listKey,
    queryFn: async ({ pageParam, signal }) => {
      const page = await get<Page<Dialog>>(
        `${base}/dialogs${qs({ ...params, limit: pageParam ? PAGE : FIRST_PAGE, cursor: pageParam })}`,
        signal,
      );
      if (!pageParam) qc.setQueryData(headKey, fingerprint(page.items));
      return page;
    },
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor,
    // A filter change keeps the current rows on screen (dimmed) until the new ones arrive.
    placeholderData: keepPreviousData,
    staleTime: Number.POSITIVE_INFINITY,
    refetchOnWindowFocus: false,
    refetchOnReconnect: false,
  });

  const head = useQuery({
    queryKey: headKey,
    queryFn: async ({ signal }) =>
      fingerprint((await get<Page<Dialog>>(`${base}/dialogs${qs({ ...params, limit: HEAD })}`, signal)).items),
    enabled: list.isSuccess && !list.isPlaceholderData,
    staleTime: 15_000,
  });

  const rows = useMemo(() => list.data?.pages.flatMap((p) => p.items) ?? [], [list.data]);
  const loadedHead = useMemo(() => (list.data?.pages[0] ? fingerprint(list.data.pages[0].items) : null), [list.data]);
  const changed = !list.isPlaceholderData && head.data !== undefined && loadedHead !== null && head.data !== loadedHead;
  const pageCount = list.data?.pages.length ?? 0;

  /** Back to the first page, fetched again (the rows below are dropped rather than refetched). */
  const refresh = useCallback(() => {
    qc.setQueryData<typeof list.data>(listKey, (d) =>
      d ? { pages: d.pages.slice(0, 1), pageParams: d.pageParams.slice(0, 1) } : d,
    );
    void qc.refetchQueries({ queryKey: listKey, exact: true });
  }, [qc, listKey]);

  // A short list follows the changes by itself (its few pages refetched, the scroll position kept);
  // a long one waits for the user (the banner), so that the rows being read do not move.
  const fetching = list.isFetching;
  useEffect(() => {
    if (changed && pageCount <= AUTO_REFRESH_PAGES && !fetching)
      void qc.refetchQueries({ queryKey: listKey, exact: true });
  }, [changed, pageCount, fetching, qc, listKey]);

  return { list, rows, changed: changed && pageCount > AUTO_REFRESH_PAGES, refresh };
}

/** The project's members, for the employee filter. */
export function useMembers() {
  const { project, base } = useProject();
  return useQuery({
    queryKey: ['p', project.id, 'members', 'log'],
    queryFn: ({ signal }) => get<{ items: Member[] }>(`${base}/users`, signal),
    select: (d) => [...d.items].sort((a, b) => a.name.localeCompare(b.name)),
    staleTime: 5 * 60_000,
  });
}

export type OptionalColumn = 'status' | 'closedAt' | 'messages' | 'firstResponse' | 'closeReason';
export const OPTIONAL_COLUMNS: readonly OptionalColumn[] = [
  'status',
  'closedAt',
  'messages',
  'firstResponse',
  'closeReason',
];

/** The optional columns the user switched on, remembered in this browser. */
export function useOptionalColumns() {
  const [stored, setStored] = useLocalStorage<OptionalColumn[]>({
    key: 'dziennik.log.columns',
    defaultValue: [],
    getInitialValueInEffect: false,
  });
  const value = useMemo(() => OPTIONAL_COLUMNS.filter((c) => Array.isArray(stored) && stored.includes(c)), [stored]);
  const toggle = useCallback(
    (c: OptionalColumn, on: boolean) =>
      setStored((prev) => {
        const cur = Array.isArray(prev) ? prev : [];
        return on ? [...new Set([...cur, c])] : cur.filter((x) => x !== c);
      }),
    [setStored],
  );
  return [value, toggle] as const;
}

/** A value kept in localStorage (the export delimiter). */
export function useStoredChoice<T extends string>(key: string, allowed: readonly T[], fallback: T) {
  const [v, setV] = useLocalStorage<string>({ key, defaultValue: fallback, getInitialValueInEffect: false });
  return [(allowed as readonly string[]).includes(v) ? (v as T) : fallback, setV as (v: T) => void] as const;
}

/** Debounced text that a later change from outside (back button, reset) still overrides. */
export function useDebouncedCommit(value: string, commit: (v: string) => void, ms = 350) {
  const [local, setLocal] = useState(value);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const commitRef = useRef(commit);
  commitRef.current = commit;
  useEffect(() => {
    setLocal((l) => (l.trim() === value ? l : value));
  }, [value]);
  useEffect(() => () => clearTimeout(timer.current), []);
  const onChange = useCallback(
    (v: string) => {
      setLocal(v);
      clearTimeout(timer.current);
      timer.current = setTimeout(() => commitRef.current(v), ms);
    },
    [ms],
  );
  const flush = useCallback(() => {
    clearTimeout(timer.current);
    commitRef.current(local);
  }, [local]);
  return { value: local, onChange, flush };
}
