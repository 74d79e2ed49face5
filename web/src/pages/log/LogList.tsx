// biome-ignore-all lint/a11y/useSemanticElements: virtualised rows are absolutely positioned grid boxes; <table> elements restyled like that lose their table semantics in some browsers, the ARIA table roles keep them
// biome-ignore-all lint/a11y/useFocusableInteractive: a row of a read-only table, not a grid widget; the row's link is its focus stop
import { Button, Loader } from '@mantine/core';
import { useVirtualizer } from '@tanstack/react-virtual';
import {
  type CSSProperties,
  type KeyboardEvent,
  type MouseEvent,
  memo,
  useCallback,
  useEffect,
  useRef,
  useState,
} from 'react';
import { createPortal } from 'react-dom';
import type { Dialog } from '../../api';
import {
  CARD_HEIGHT,
  type CellContext,
  COLUMN_LABEL,
  type ColumnId,
  gridOf,
  LogCard,
  LogRow,
  ROW_HEIGHT,
  sourceDetails,
} from './cells';
import type { Order, SortBy } from './filters';
import { useI18n, useMessages } from '../../i18n';
import { LOG_MESSAGES } from './messages';

interface Props {
  rows: readonly Dialog[];
  columns: readonly ColumnId[];
  cards: boolean;
  ctx: CellContext;
  listSearch: string;
  hasNextPage: boolean;
  /** The rows of the previous filters, shown while the new ones load. */
  stale: boolean;
  isFetchingNextPage: boolean;
  nextPageError: boolean;
  fetchNextPage: () => void;
  onOpen: (id: number) => void;
  sort: SortBy;
  order: Order;
  onSort: (sort: SortBy) => void;
  /** Bumped when the filters change: the list scrolls back to the top. */
  resetKey: string;
  label: string;
}

/** How close to the end of the loaded rows the next page is asked for. */
const PREFETCH_ROWS = 25;

/**
 * The rows, virtualised: only those on screen (plus a few) are in the DOM, at fixed heights, so
 * scrolling costs the same with 50 or 50,000 rows loaded. A table (ARIA grid of rows and cells)
 * at desktop width, a list of cards on a phone. Each row's client name is a link to `?dialog=ID`
 * (Enter opens it, a middle click opens a tab); a click anywhere else on the row opens it too, and
 * the arrow keys move between rows.
 */
export const LogList = memo(function LogList(p: Props) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const itemHeight = p.cards ? CARD_HEIGHT : ROW_HEIGHT;
  const footer = p.hasNextPage || p.nextPageError ? 1 : 0;
  const virtualizer = useVirtualizer({
    count: p.rows.length + footer,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => itemHeight,
    overscan: 6,
    paddingStart: p.cards ? 8 : 0,
    // The rows render in the first pass, before the scroller has been measured.
    initialRect: { width: window.innerWidth, height: window.innerHeight },
  });

  // biome-ignore lint/correctness/useExhaustiveDependencies: reset on purpose when the query changes
  useEffect(() => {
    scrollRef.current?.scrollTo({ top: 0 });
  }, [p.resetKey, p.cards]);

  const items = virtualizer.getVirtualItems();
  const lastIndex = items[items.length - 1]?.index ?? -1;
  const { hasNextPage, isFetchingNextPage, nextPageError, fetchNextPage } = p;
  const loaded = p.rows.length;
  useEffect(() => {
    if (hasNextPage && !isFetchingNextPage && !nextPageError && lastIndex >= loaded - PREFETCH_ROWS) fetchNextPage();
  }, [hasNextPage, isFetchingNextPage, nextPageError, lastIndex, loaded, fetchNextPage]);

  const { onOpen } = p;
  const onClick = useCallback(
    (e: MouseEvent<HTMLDivElement>) => {
      const target = e.target as HTMLElement;
      const link = target.closest<HTMLElement>('a[data-row-link]');
      if (link) {
        // A plain click (or Enter) opens the modal in place; with a modifier the browser opens a tab.
        if (e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        const id = Number(link.closest<HTMLElement>('[data-dialog-id]')?.dataset.dialogId);
        if (id) onOpen(id);
        return;
      }
      if (target.closest('a, button')) return;
      // Selecting a phone number to copy it is not a click on the row.
      if (window.getSelection()?.toString()) return;
      const row = target.closest<HTMLElement>('[data-dialog-id]');
      if (row) onOpen(Number(row.dataset.dialogId));
    },
    [onOpen],
  );

  const onKeyDown = useCallback(
    (e: KeyboardEvent<HTMLDivElement>) => {
      if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
      const row = (e.target as HTMLElement).closest<HTMLElement>('[data-row-index]');
      if (!row || !(e.target as HTMLElement).hasAttribute('data-row-link')) return;
      const next = Number(row.dataset.rowIndex) + (e.key === 'ArrowDown' ? 1 : -1);
      if (next < 0 || next >= loaded) return;
      e.preventDefault();
      virtualizer.scrollToIndex(next, { align: 'auto' });
      const focus = (tries: number) => {
        const el = scrollRef.current?.querySelector<HTMLElement>(`[data-row-index="${next}"] [data-row-link]`);
        if (el) el.focus();
        else if (tries > 0) requestAnimationFrame(() => focus(tries - 1));
      };
      requestAnimationFrame(() => focus(5));
    },
    [loaded, virtualizer],
  );

  // One tooltip for the whole list (the source's utm fields), instead of one per row.
  const [tip, setTip] = useState<{ id: number; left: number; top: number; above: boolean } | null>(null);
  const onMouseOver = (e: MouseEvent<HTMLDivElement>) => {
    const el = (e.target as HTMLElement).closest<HTMLElement>('[data-tip]');
    const id = el ? Number(el.closest<HTMLElement>('[data-dialog-id]')?.dataset.dialogId) : null;
    if (!el || !id) {
      if (tip) setTip(null);
      return;
    }
    if (tip?.id === id) return;
    const r = el.getBoundingClientRect();
    const above = r.bottom + 180 > window.innerHeight;
    setTip({
      id,
      left: Math.max(8, Math.min(r.left, window.innerWidth - 396)),
      top: above ? r.top - 4 : r.bottom + 4,
      above,
    });
  };
  const tipDialog = tip ? p.rows.find((r) => r.id === tip.id) : undefined;
  const tipLines = tipDialog?.source ? sourceDetails(tipDialog.source, p.ctx.m) : [];
  const tooltip =
    tip && tipLines.length > 0
      ? createPortal(
          <div
            role="tooltip"
            className="dz-tip"
            data-above={tip.above || undefined}
            style={{ left: tip.left, top: tip.top }}
            data-testid="source-tip"
          >
            {tipLines.map((l) => (
              <span key={l.label}>
                <b>{l.label}:</b> {l.value}
              </span>
            ))}
          </div>,
          document.body,
        )
      : null;
  const hideTip = () => tip && setTip(null);

  const grid = gridOf(p.columns);
  const style = {
    '--dz-cols': grid.template,
    '--dz-min-width': `${grid.minWidth}px`,
    '--dz-row-h': `${itemHeight}px`,
  } as CSSProperties;

  const renderItem = (vi: (typeof items)[number]) => {
    const d = p.rows[vi.index];
    if (!d)
      return <Footer key="footer" start={vi.start} error={p.nextPageError} onRetry={p.fetchNextPage} cards={p.cards} />;
    return p.cards ? (
      <LogCard key={d.id} d={d} index={vi.index} start={vi.start} listSearch={p.listSearch} ctx={p.ctx} />
    ) : (
      <LogRow
        key={d.id}
        d={d}
        index={vi.index}
        start={vi.start}
        columns={p.columns}
        listSearch={p.listSearch}
        ctx={p.ctx}
      />
    );
  };

  if (p.cards) {
    return (
      // biome-ignore lint/a11y/noStaticElementInteractions: delegated from the rows: a click on a row is a mouse shortcut for its link, the arrow keys move between the links
      <div
        ref={scrollRef}
        className="dz-scroller dz-cards"
        style={style}
        onClick={onClick}
        onKeyDown={onKeyDown}
        onScroll={hideTip}
        aria-busy={p.stale || undefined}
        data-testid="log-rows"
      >
        <div role="list" aria-label={p.label} className="dz-body" style={{ height: virtualizer.getTotalSize() }}>
          {items.map(renderItem)}
        </div>
      </div>
    );
  }

  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: delegated from the rows: a click on a row is a mouse shortcut for its link, the arrow keys move between the links
    <div
      ref={scrollRef}
      className="dz-scroller"
      style={style}
      onClick={onClick}
      onKeyDown={onKeyDown}
      onMouseOver={onMouseOver}
      onFocus={hideTip}
      onMouseLeave={hideTip}
      onScroll={hideTip}
      aria-busy={p.stale || undefined}
      data-testid="log-rows"
    >
      <div
        role="table"
        aria-label={p.label}
        aria-rowcount={p.hasNextPage ? -1 : p.rows.length + 1}
        className="dz-table"
      >
        <div role="rowgroup" className="dz-head">
          <div role="row" aria-rowindex={1} className="dz-row dz-headrow">
            {p.columns.map((c) => {
              const sortable = c === 'created' || c === 'manager';
              const active = sortable && p.sort === c;
              return (
                <div
                  key={c}
                  role="columnheader"
                  className={`dz-cell dz-c-${c}`}
                  aria-sort={active ? (p.order === 'asc' ? 'ascending' : 'descending') : undefined}
                >
                  {sortable ? (
                    <button
                      type="button"
                      className="dz-sort"
                      data-active={active || undefined}
                      onClick={() => p.onSort(c)}
                      data-testid={`sort-${c}`}
                    >
                      {p.ctx.m(COLUMN_LABEL[c])}
                      <span aria-hidden="true" className="dz-sort-mark">
                        {active ? (p.order === 'asc' ? '▲' : '▼') : '↕'}
                      </span>
                    </button>
                  ) : (
                    p.ctx.m(COLUMN_LABEL[c])
                  )}
                </div>
              );
            })}
          </div>
        </div>
        <div role="rowgroup" className="dz-body" style={{ height: virtualizer.getTotalSize() }}>
          {items.map(renderItem)}
        </div>
      </div>
      {tooltip}
    </div>
  );
});

function Footer({
  start,
  error,
  onRetry,
  cards,
}: {
  start: number;
  error: boolean;
  onRetry: () => void;
  cards: boolean;
}) {
  const m = useMessages(LOG_MESSAGES);
  const { t } = useI18n();
  const content = error ? (
    <Button size="compact-sm" variant="light" color="red" onClick={onRetry}>
      {m('loadMoreFailed')} {t('common.retry')}
    </Button>
  ) : (
    <>
      <Loader size="xs" aria-hidden="true" /> <span>{m('loadingMore')}</span>
    </>
  );
  return cards ? (
    <div role="listitem" className="dz-footer" style={{ transform: `translateY(${start}px)` }}>
      {content}
    </div>
  ) : (
    <div role="row" className="dz-row dz-footer" style={{ transform: `translateY(${start}px)` }}>
      <div role="cell" className="dz-footer-cell">
        {content}
      </div>
    </div>
  );
}
