import {
  ActionIcon,
  Badge,
  Box,
  Button,
  Group,
  Stack,
  Tabs,
  Text,
  Title,
  Tooltip,
  UnstyledButton,
} from '@mantine/core';
import type { InfiniteData, UseInfiniteQueryResult } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { Link } from 'react-router';
import type { Dialog, Page } from '../../api';
import { Empty, Failure, Loading } from '../../components/States';
import { useFormat } from '../../format';
import { useI18n } from '../../i18n';
import { useProject } from '../../session';
import type { NotifyState } from './attention';
import { ACCENT, clientLabel, MUTED } from './bits';
import { useWorkspaceMessages } from './messages';
import type { QueueKind } from './queries';

export interface QueueView {
  kind: QueueKind;
  query: UseInfiniteQueryResult<InfiniteData<Page<Dialog>>>;
  items: Dialog[];
}

/** The queues (unassigned, mine, all open) as tabs, each a list of dialogs with unread counts. */
export function QueuePane({
  queues,
  active,
  onActive,
  selectedId,
  linkTo,
  notify,
  help,
}: {
  queues: QueueView[];
  active: QueueKind;
  onActive: (k: QueueKind) => void;
  selectedId: number | null;
  linkTo: (id: number) => string;
  notify: { state: NotifyState; request: () => void; toggle: () => void };
  help: ReactNode;
}) {
  const m = useWorkspaceMessages();
  return (
    <Stack gap={0} h="100%" mih={0}>
      <Group justify="space-between" px="sm" py={8} wrap="nowrap" gap="xs">
        <Title order={2} size="h4">
          {m('queues')}
        </Title>
        <Group gap={4} wrap="nowrap">
          <NotifyButton {...notify} />
          {help}
        </Group>
      </Group>
      <Tabs
        value={active}
        onChange={(v) => v && onActive(v as QueueKind)}
        keepMounted={false}
        color={ACCENT}
        style={{ display: 'flex', flexDirection: 'column', flex: 1, minHeight: 0 }}
      >
        <Tabs.List grow>
          {queues.map((q) => (
            <Tabs.Tab key={q.kind} value={q.kind} data-testid={`queue-tab-${q.kind}`} px={8}>
              <QueueTabLabel q={q} />
            </Tabs.Tab>
          ))}
        </Tabs.List>
        {queues.map((q) => (
          <Tabs.Panel key={q.kind} value={q.kind} style={{ flex: 1, minHeight: 0 }}>
            <QueueList queue={q} selectedId={selectedId} linkTo={linkTo} />
          </Tabs.Panel>
        ))}
      </Tabs>
    </Stack>
  );
}

function QueueTabLabel({ q }: { q: QueueView }) {
  const m = useWorkspaceMessages();
  const unread = q.items.reduce((n, d) => n + d.unreadCount, 0);
  const more = q.query.hasNextPage ? '+' : '';
  return (
    <Group gap={6} wrap="nowrap" justify="center">
      <Text size="sm" fw={500}>
        {m(`queue.${q.kind}`)}
      </Text>
      <Text size="xs" c={MUTED} data-testid={`queue-count-${q.kind}`}>
        {q.query.isSuccess ? `${q.items.length}${more}` : ''}
      </Text>
      {unread > 0 && (
        <Badge size="sm" circle={unread < 10} color="red.9" aria-label={m('queue.unread', { n: unread })}>
          {unread}
        </Badge>
      )}
    </Group>
  );
}

function NotifyButton({ state, request, toggle }: { state: NotifyState; request: () => void; toggle: () => void }) {
  const m = useWorkspaceMessages();
  if (state === 'unsupported') return null;
  if (state === 'default') {
    return (
      <Button size="compact-xs" variant="default" onClick={request} data-testid="notify-enable">
        {m('notify.enable')}
      </Button>
    );
  }
  const label = state === 'denied' ? m('notify.denied') : state === 'on' ? m('notify.on') : m('notify.off');
  return (
    <Tooltip label={label} multiline w={240} withArrow>
      <ActionIcon
        variant="subtle"
        color={state === 'on' ? ACCENT : 'gray.7'}
        aria-label={label}
        aria-pressed={state === 'on'}
        onClick={state === 'denied' ? undefined : toggle}
        data-testid="notify-toggle"
        data-state={state}
      >
        <BellIcon off={state !== 'on'} />
      </ActionIcon>
    </Tooltip>
  );
}

function BellIcon({ off }: { off: boolean }) {
  return (
    <svg
      width="18"
      height="18"
      viewBox="0 0 24 24"
      fill="none"
      stroke="currentColor"
      strokeWidth="2"
      aria-hidden="true"
    >
      <path d="M6 8a6 6 0 1 1 12 0c0 7 3 9 3 9H3s3-2 3-9" />
      <path d="M10.3 21a1.94 1.94 0 0 0 3.4 0" />
      {off && <path d="M3 3l18 18" />}
    </svg>
  );
}

function QueueList({
  queue,
  selectedId,
  linkTo,
}: {
  queue: QueueView;
  selectedId: number | null;
  linkTo: (id: number) => string;
}) {
  const m = useWorkspaceMessages();
  const { query, items, kind } = queue;
  if (query.isPending) return <Loading />;
  if (query.isError) return <Failure error={query.error} onRetry={() => void query.refetch()} />;
  if (items.length === 0) return <Empty>{m(`queue.empty.${kind}`)}</Empty>;
  return (
    <Box
      h="100%"
      style={{ overflowY: 'auto' }}
      tabIndex={0}
      aria-label={m(`queue.${kind}`)}
      data-testid={`queue-${kind}`}
    >
      <Box component="ul" m={0} p={0} style={{ listStyle: 'none' }}>
        {items.map((d) => (
          <li key={d.id}>
            <QueueRow dialog={d} selected={d.id === selectedId} to={linkTo(d.id)} showManager={kind === 'all'} />
          </li>
        ))}
      </Box>
      {query.hasNextPage && (
        <Group justify="center" p="sm">
          <Button
            variant="subtle"
            color={ACCENT}
            size="xs"
            loading={query.isFetchingNextPage}
            onClick={() => void query.fetchNextPage()}
          >
            {m('queue.more')}
          </Button>
        </Group>
      )}
    </Box>
  );
}

function QueueRow({
  dialog: d,
  selected,
  to,
  showManager,
}: {
  dialog: Dialog;
  selected: boolean;
  to: string;
  showManager: boolean;
}) {
  const { t } = useI18n();
  const m = useWorkspaceMessages();
  const f = useFormat();
  const { me } = useProject();
  const at = d.lastMessageAt ?? d.createdAt;
  const today = f.day(new Date()) === f.day(new Date(at));
  const name = clientLabel(d, m('card.noName'));
  const waiting = d.lastDirection === 'in';
  return (
    <UnstyledButton
      component={Link}
      to={to}
      aria-current={selected ? 'page' : undefined}
      data-testid="queue-item"
      data-dialog-id={d.id}
      display="block"
      w="100%"
      px="sm"
      py={8}
      bg={selected ? 'blue.0' : undefined}
      style={{
        borderBottom: '1px solid var(--mantine-color-gray-2)',
        borderLeft: `3px solid ${selected ? 'var(--mantine-color-blue-7)' : 'transparent'}`,
      }}
    >
      <Group justify="space-between" wrap="nowrap" gap="xs">
        <Text size="sm" fw={d.unreadCount > 0 ? 700 : 500} truncate="end" style={{ minWidth: 0 }}>
          {name}
        </Text>
        <Text size="xs" c={MUTED} style={{ flexShrink: 0 }}>
          {today ? f.time(at) : f.date(at)}
        </Text>
      </Group>
      <Group justify="space-between" wrap="nowrap" gap="xs" mt={2}>
        <Text size="xs" c={MUTED} truncate="end" style={{ minWidth: 0 }}>
          {t(`channel.${d.channel}` as const)}
          {d.senderLabel ? ` · ${d.senderLabel}` : ''}
          {showManager && d.manager ? ` · ${d.manager.id === me.user.id ? m('queue.you') : d.manager.name}` : ''}
          {waiting && d.status !== 'closed' ? ` · ${m('queue.waiting')}` : ''}
        </Text>
        {d.unreadCount > 0 && (
          <Badge
            size="sm"
            color="red.9"
            circle={d.unreadCount < 10}
            aria-label={m('queue.unread', { n: d.unreadCount })}
            data-testid="unread-badge"
          >
            {d.unreadCount}
          </Badge>
        )}
      </Group>
    </UnstyledButton>
  );
}
