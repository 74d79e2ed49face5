import { Button, Group, Modal, Text } from '@mantine/core';
import { useInfiniteQuery, useQuery, useQueryClient } from '@tanstack/react-query';
import { memo, useEffect, useMemo, useState } from 'react';
import { type Dialog, get, type Message, type Page, qs } from '../../api';
import { ChannelIcon } from '../../components/ChannelIcon';
import { Empty, Failure, Loading } from '../../components/States';
import { useFormat } from '../../format';
import { useI18n, useMessages } from '../../i18n';
import { useProject } from '../../session';
import { type CellContext, clientLines, sourceDetails } from './cells';
import { LOG_MESSAGES } from './messages';
import { formatDuration, LinkifiedText, safeHttpUrl } from './text';

const MESSAGES_PAGE = 100;
/** Printing loads the whole history first, up to this many messages. */
const PRINT_LIMIT = 5000;

/**
 * A dialog's whole history (R4), opened from a row and named in the URL (`?dialog=ID`): the dialog
 * (client, channel, manager, dates, source) and its messages oldest first, paged by cursor, each
 * with its author, time and delivery state. Esc closes it, focus stays inside while it is open and
 * goes back to the row after. Print prints only this (see log.css).
 */
export function HistoryModal({
  dialogId,
  fromList,
  onClose,
  fullScreen,
}: {
  dialogId: number | null;
  /** The row as the list has it, shown while the dialog itself loads. */
  fromList: Dialog | undefined;
  onClose: () => void;
  fullScreen: boolean;
}) {
  const m = useMessages(LOG_MESSAGES);
  const { t } = useI18n();
  // Keep the last dialog while the modal animates out.
  const [shown, setShown] = useState(dialogId);
  useEffect(() => {
    if (dialogId !== null) setShown(dialogId);
  }, [dialogId]);
  const id = dialogId ?? shown;

  return (
    <Modal
      opened={dialogId !== null}
      onClose={onClose}
      size="xl"
      fullScreen={fullScreen}
      title={id !== null ? m('history.title', { id }) : ''}
      closeButtonProps={{ 'aria-label': t('common.close') }}
      classNames={{
        root: 'dz-history-root',
        content: 'dz-history-content',
        inner: 'dz-history-inner',
        header: 'dz-history-header',
        body: 'dz-history-body',
      }}
      data-testid="history-modal"
    >
      {id !== null && <History id={id} fromList={fromList?.id === id ? fromList : undefined} />}
    </Modal>
  );
}

function History({ id, fromList }: { id: number; fromList: Dialog | undefined }) {
  const { project, base } = useProject();
  const m = useMessages(LOG_MESSAGES);
  const { t } = useI18n();
  const fmt = useFormat();
  const qc = useQueryClient();
  const ctx = useMemo<CellContext>(() => ({ m, t, fmt }), [m, t, fmt]);

  const dialog = useQuery({
    queryKey: ['p', project.id, 'dialog', id, 'log-detail'],
    queryFn: ({ signal }) => get<Dialog>(`${base}/dialogs/${id}`, signal),
    ...(fromList ? { placeholderData: fromList } : {}),
  });
  const messagesKey = ['p', project.id, 'dialog', id, 'log-messages'];
  const messages = useInfiniteQuery({
    queryKey: messagesKey,
    queryFn: ({ pageParam, signal }) =>
      get<Page<Message>>(
        `${base}/dialogs/${id}/messages${qs({ order: 'asc', limit: MESSAGES_PAGE, cursor: pageParam })}`,
        signal,
      ),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor,
  });
  const items = useMemo(() => messages.data?.pages.flatMap((p) => p.items) ?? [], [messages.data]);
  const [printing, setPrinting] = useState(false);

  const print = async () => {
    setPrinting(true);
    try {
      // The whole history on paper, not only the pages scrolled through.
      let data = messages.data;
      while (data?.pages[data.pages.length - 1]?.nextCursor) {
        if (data.pages.reduce((n, p) => n + p.items.length, 0) >= PRINT_LIMIT) break;
        await messages.fetchNextPage();
        data = qc.getQueryData(messagesKey);
      }
    } finally {
      setPrinting(false);
    }
    // After React has rendered the loaded pages.
    requestAnimationFrame(() => requestAnimationFrame(() => window.print()));
  };

  if (dialog.isError) return <Failure error={dialog.error} onRetry={() => void dialog.refetch()} />;
  const d = dialog.data;
  const total = d ? d.messageCounts.in + d.messageCounts.out : undefined;

  return (
    <div className="dz-history" data-testid="history">
      <Group justify="flex-end" className="dz-no-print" mb="xs">
        <Button
          size="xs"
          variant="default"
          onClick={() => void print()}
          loading={printing}
          disabled={!messages.isSuccess}
          data-testid="history-print"
        >
          {m('history.print')}
        </Button>
      </Group>
      {d ? <DialogDetails d={d} ctx={ctx} /> : <Loading />}
      <Text component="h3" size="sm" fw={600} mt="md" mb="xs">
        {m('history.messages')}
        {total !== undefined && (
          <Text span size="xs" c="gray.7" fw={400} ml="xs" data-testid="history-count">
            {m('history.count', { shown: items.length, total: Math.max(total, items.length) })}
          </Text>
        )}
      </Text>
      {messages.isPending ? (
        <Loading />
      ) : messages.isError ? (
        <Failure error={messages.error} onRetry={() => void messages.refetch()} />
      ) : items.length === 0 ? (
        <Empty>{m('history.empty')}</Empty>
      ) : (
        <ol className="dz-msgs" data-testid="history-messages">
          {items.map((msg) => (
            <MessageItem key={msg.id} msg={msg} ctx={ctx} clientName={d?.client.name ?? null} />
          ))}
        </ol>
      )}
      {messages.hasNextPage && (
        <Group justify="center" mt="sm" className="dz-no-print">
          {messages.isFetchNextPageError && (
            <Text size="xs" c="red.8" role="alert">
              {messages.error instanceof Error ? messages.error.message : t('common.error')}
            </Text>
          )}
          <Button
            size="xs"
            variant="light"
            onClick={() => void messages.fetchNextPage()}
            loading={messages.isFetchingNextPage}
            data-testid="history-more"
          >
            {m('history.loadMore')}
          </Button>
        </Group>
      )}
    </div>
  );
}

function DialogDetails({ d, ctx }: { d: Dialog; ctx: CellContext }) {
  const { m, t, fmt } = ctx;
  const { name } = clientLines(d);
  const source = d.source;
  const details = source ? sourceDetails(source, m) : [];
  const rows: [string, React.ReactNode][] = [[m('col.client'), <strong key="n">{name}</strong>]];
  if (d.client.phone) rows.push([m('history.phone'), d.client.phone]);
  if (d.client.handle)
    rows.push([m('history.handle'), d.client.handle.startsWith('@') ? d.client.handle : `@${d.client.handle}`]);
  if (d.senderLabel) rows.push(['SMS', m('history.outboundOnly')]);
  rows.push([
    m('col.channel'),
    <Group key="c" gap={6} wrap="nowrap" component="span">
      <ChannelIcon channel={d.channel} label="" size={16} />
      {t(`channel.${d.channel}`)}
    </Group>,
  ]);
  rows.push([m('col.status'), t(`status.${d.status}`)]);
  rows.push([m('col.manager'), d.manager?.name ?? m('unassigned')]);
  rows.push([
    m('col.lastResponder'),
    d.lastResponder
      ? d.lastResponder.type === 'client'
        ? t('author.client')
        : (d.lastResponder.name ?? t('author.manager'))
      : '—',
  ]);
  rows.push([
    m('col.created'),
    <time key="cr" dateTime={d.createdAt}>
      {fmt.dateTime(d.createdAt)}
    </time>,
  ]);
  if (d.closedAt) {
    rows.push([
      m('col.closedAt'),
      <time key="cl" dateTime={d.closedAt}>
        {fmt.dateTime(d.closedAt)}
      </time>,
    ]);
    if (d.closedBy?.name) rows.push([m('history.closedBy'), d.closedBy.name]);
  }
  if (d.closeReason) rows.push([m('col.closeReason'), d.closeReason]);
  if (d.firstResponseSeconds !== null) rows.push([m('col.firstResponse'), formatDuration(d.firstResponseSeconds, m)]);
  rows.push([m('col.messages'), `${d.messageCounts.in} / ${d.messageCounts.out}`]);
  if (source) {
    rows.push([
      m('col.source'),
      <span key="s">
        {source.label ?? source.utmSource ?? m('noSource')}
        {source.channelGroup && <span className="dz-badge">{source.channelGroup}</span>}
      </span>,
    ]);
    for (const { label, value, url } of details) {
      const href = url ? safeHttpUrl(value) : null;
      rows.push([
        label,
        href ? (
          <a key={label} href={href} target="_blank" rel="noopener noreferrer">
            {value}
          </a>
        ) : (
          value
        ),
      ]);
    }
  }
  return (
    <section aria-label={m('history.details')}>
      <dl className="dz-details" data-testid="history-details">
        {rows.map(([k, v]) => (
          <div className="dz-details-row" key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

const MessageItem = memo(function MessageItem({
  msg,
  ctx,
  clientName,
}: {
  msg: Message;
  ctx: CellContext;
  clientName: string | null;
}) {
  const { m, t, fmt } = ctx;
  const role = t(`author.${msg.author.type}`);
  const who =
    msg.author.type === 'client'
      ? (msg.author.name ?? clientName ?? role)
      : msg.author.type === 'manager'
        ? (msg.author.name ?? role)
        : role;
  return (
    <li className={`dz-msg dz-msg-${msg.direction}`} data-message-id={msg.id}>
      <div className="dz-msg-meta">
        <span className="dz-msg-author">{who}</span>
        {who !== role && <span className="dz-msg-role">{role}</span>}
        <time dateTime={msg.createdAt} title={fmt.full(msg.createdAt)}>
          {fmt.dateTime(msg.createdAt)}
        </time>
        {msg.direction === 'out' && <span className={`dz-state dz-state-${msg.status}`}>{t(`msg.${msg.status}`)}</span>}
      </div>
      <div className="dz-msg-text">
        <LinkifiedText text={msg.text} />
      </div>
      {msg.attachments.length > 0 && (
        <ul className="dz-msg-att">
          {msg.attachments.map((a, i) => {
            const att = (a ?? {}) as { type?: string; name?: string; url?: string };
            const href = safeHttpUrl(att.url);
            const label = `${m('history.attachment')}: ${att.name ?? att.type ?? ''}`;
            return (
              // biome-ignore lint/suspicious/noArrayIndexKey: attachments have no id of their own
              <li key={i}>
                {href ? (
                  <a href={href} target="_blank" rel="noopener noreferrer">
                    {label}
                  </a>
                ) : (
                  label
                )}
              </li>
            );
          })}
        </ul>
      )}
      {msg.status === 'failed' && msg.failureReason && (
        <Text size="xs" c="red.8" className="dz-msg-failure">
          {m('history.failed', { reason: msg.failureReason })}
        </Text>
      )}
    </li>
  );
});
