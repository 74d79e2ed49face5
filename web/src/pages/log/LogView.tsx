import './log.css';
import { Alert, Button, Group, Text, Title } from '@mantine/core';
import { useMediaQuery } from '@mantine/hooks';
import { useCallback, useEffect, useMemo, useRef } from 'react';
import { Empty, Failure, Loading } from '../../components/States';
import { useFormat } from '../../format';
import { useI18n, useMessages } from '../../i18n';
import { BASE_COLUMNS, type CellContext, COLUMN_ORDER, type ColumnId } from './cells';
import { useLogList, useOptionalColumns } from './data';
import { FilterBar } from './FilterBar';
import { effectiveOrder, filtersKey, type SortBy, useLogUrl } from './filters';
import { HistoryModal } from './HistoryModal';
import { LogList } from './LogList';
import { LOG_MESSAGES } from './messages';
import { ColumnsMenu, ExportMenu, SortControl } from './Toolbar';

/**
 * The Message log (R1–R5, SPEC §4.5): the project's dialogs, closed ones newest first by default,
 * filtered and sorted from the URL, loaded by cursor as the list scrolls, each opening its history.
 */
export default function LogView() {
  const m = useMessages(LOG_MESSAGES);
  const { t, intlLocale } = useI18n();
  const fmt = useFormat();
  const url = useLogUrl();
  const { filters } = url;
  const compact = useMediaQuery('(max-width: 700px)', false, { getInitialValueInEffect: false }) ?? false;
  const [optional, toggleColumn] = useOptionalColumns();
  const { list, rows, changed, refresh } = useLogList(filters);
  const order = effectiveOrder(filters);

  const columns = useMemo<ColumnId[]>(
    () => COLUMN_ORDER.filter((c) => BASE_COLUMNS.includes(c) || (optional as readonly string[]).includes(c)),
    [optional],
  );
  const ctx = useMemo<CellContext>(() => ({ m, t, fmt }), [m, t, fmt]);

  const onSort = useCallback(
    (sort: SortBy) =>
      url.setFilters(sort === filters.sort ? { order: order === 'asc' ? 'desc' : 'asc' } : { sort, order: null }),
    [url.setFilters, filters.sort, order],
  );

  useEffect(() => {
    const before = document.title;
    document.title = `${m('title')} · ${t('app.name')}`;
    return () => {
      document.title = before;
    };
  }, [m, t]);

  // Focus goes back to the row the modal was opened from (Mantine returns it to the element that
  // had it; after a reload with ?dialog= there was none, so the row is found by its id).
  const lastOpened = useRef<number | null>(null);
  if (url.dialogId !== null) lastOpened.current = url.dialogId;
  const onClose = useCallback(() => {
    const id = lastOpened.current;
    url.closeDialog();
    setTimeout(() => {
      if (document.activeElement && document.activeElement !== document.body) return;
      document.querySelector<HTMLElement>(`[data-dialog-id="${id}"] [data-row-link]`)?.focus();
    }, 250);
  }, [url.closeDialog]);

  const fetchNext = useCallback(() => void list.fetchNextPage(), [list.fetchNextPage]);
  const fromList = useMemo(
    () => (url.dialogId === null ? undefined : rows.find((r) => r.id === url.dialogId)),
    [rows, url.dialogId],
  );

  let body: React.ReactNode;
  if (list.isPending || (list.isPlaceholderData && rows.length === 0)) body = <Loading />;
  // With rows on screen, a failed next page or refresh keeps them (the list's footer offers a retry).
  else if (list.isError && rows.length === 0) body = <Failure error={list.error} onRetry={() => void list.refetch()} />;
  else if (rows.length === 0)
    body = (
      <Empty>
        <span data-testid="log-empty">{m('empty')}</span>
      </Empty>
    );
  else
    body = (
      <LogList
        rows={rows}
        columns={columns}
        cards={compact}
        ctx={ctx}
        listSearch={url.listSearch}
        hasNextPage={list.hasNextPage && !list.isPlaceholderData}
        stale={list.isPlaceholderData}
        isFetchingNextPage={list.isFetchingNextPage}
        nextPageError={list.isFetchNextPageError}
        fetchNextPage={fetchNext}
        onOpen={url.openDialog}
        sort={filters.sort}
        order={order}
        onSort={onSort}
        resetKey={filtersKey(filters)}
        label={m('title')}
      />
    );

  return (
    <div className="dz-log" data-testid="log-page">
      <div className="dz-log-top">
        <Group justify="space-between" gap="xs" mb={6}>
          <Title order={1} size="h3">
            {m('title')}
          </Title>
          <Group gap="xs" wrap="nowrap">
            {compact && (
              <SortControl
                sort={filters.sort}
                order={order}
                onChange={(sort, o) => url.setFilters({ sort, order: o })}
              />
            )}
            {!compact && <ColumnsMenu value={optional} onToggle={toggleColumn} />}
            <ExportMenu filters={filters} />
          </Group>
        </Group>
        <FilterBar filters={filters} setFilters={url.setFilters} onReset={url.resetFilters} compact={compact} />
        <Group justify="space-between" mt={6} gap="xs" mih={24}>
          <Text size="xs" c="gray.7" aria-live="polite" data-testid="log-count">
            {list.isSuccess && !list.isPlaceholderData
              ? list.hasNextPage
                ? m('loaded', { n: rows.length.toLocaleString(intlLocale) })
                : m('loadedAll', { n: rows.length.toLocaleString(intlLocale) })
              : ''}
          </Text>
          {changed && (
            <Alert variant="light" p={4} px="xs" className="dz-changed" role="status" data-testid="log-changed">
              <Group gap="xs" wrap="nowrap">
                <Text size="xs">{m('changed')}</Text>
                <Button size="compact-xs" variant="light" onClick={refresh}>
                  {m('refresh')}
                </Button>
              </Group>
            </Alert>
          )}
        </Group>
      </div>
      <div className="dz-log-main">{body}</div>
      <HistoryModal dialogId={url.dialogId} fromList={fromList} onClose={onClose} fullScreen={compact} />
    </div>
  );
}
