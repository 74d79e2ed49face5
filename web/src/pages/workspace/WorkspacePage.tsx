import { Box, Center, Text, VisuallyHidden } from '@mantine/core';
import { useMediaQuery } from '@mantine/hooks';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useNavigate, useParams, useSearchParams } from 'react-router';
import { useI18n } from '../../i18n';
import { useProject } from '../../session';
import { type QueueChange, useNotifications, useQueueChanges, useTitleCount } from './attention';
import { clientLabel, MUTED } from './bits';
import { Conversation, type ConversationCommands } from './Conversation';
import { useWorkspaceMessages } from './messages';
import { type QueueKind, queueItems, useQueue } from './queries';
import { QueuePane, type QueueView } from './QueuePane';
import { ShortcutsHelp } from './ShortcutsHelp';

/**
 * The agent workspace (issue 4 §2, SPEC §4.4): the queues on the left, the open conversation in the
 * middle, the client card on the right on wide screens. Under ~700 px the queues and the
 * conversation are separate views. The open dialog is in the path, the queue in `?queue=`.
 */

const PHONE = '(max-width: 700px)';
const WIDE = '(min-width: 1200px)';
const HEADER = 52;

export function WorkspacePage() {
  const { t } = useI18n();
  const m = useWorkspaceMessages();
  const { project, isSupervising } = useProject();
  const navigate = useNavigate();
  const params = useParams();
  const [search, setSearch] = useSearchParams();
  const dialogId = params.dialogId && /^\d+$/.test(params.dialogId) ? Number(params.dialogId) : null;

  const kinds: QueueKind[] = isSupervising ? ['new', 'mine', 'all'] : ['new', 'mine'];
  const queueParam = search.get('queue') as QueueKind | null;
  const active: QueueKind = queueParam && kinds.includes(queueParam) ? queueParam : 'new';

  const qNew = useQueue('new');
  const qMine = useQueue('mine');
  const qAll = useQueue('all', isSupervising);
  const newItems = useMemo(() => queueItems(qNew.data), [qNew.data]);
  const mineItems = useMemo(() => queueItems(qMine.data), [qMine.data]);
  const allItems = useMemo(() => queueItems(qAll.data), [qAll.data]);
  const queues: QueueView[] = [
    { kind: 'new', query: qNew, items: newItems },
    { kind: 'mine', query: qMine, items: mineItems },
    ...(isSupervising ? [{ kind: 'all' as const, query: qAll, items: allItems }] : []),
  ];
  const activeItems = queues.find((q) => q.kind === active)?.items ?? [];

  const isPhone = useMediaQuery(PHONE, false, { getInitialValueInEffect: false });
  const wide = useMediaQuery(WIDE, true, { getInitialValueInEffect: false });
  const visible = usePageVisible();

  const linkTo = useCallback(
    (id: number) => `/p/${project.id}/workspace/${id}${active === 'new' ? '' : `?queue=${active}`}`,
    [project.id, active],
  );
  const listPath = `/p/${project.id}/workspace${active === 'new' ? '' : `?queue=${active}`}`;

  // Unread messages that concern me: the unassigned queue and my own dialogs.
  const unread = useMemo(() => {
    const byId = new Map<number, number>();
    for (const d of [...newItems, ...mineItems]) byId.set(d.id, d.unreadCount);
    let n = 0;
    for (const v of byId.values()) n += v;
    return n;
  }, [newItems, mineItems]);
  useTitleCount(unread, t('app.name'));

  const notify = useNotifications();
  const watched = useMemo(() => ({ unassigned: newItems, mine: mineItems }), [newItems, mineItems]);
  useQueueChanges(watched, qNew.isSuccess && qMine.isSuccess, (c: QueueChange) => {
    const title =
      c.kind === 'newDialog'
        ? m('notify.newDialog')
        : c.kind === 'assigned'
          ? m('notify.assigned')
          : m('notify.newMessage');
    notify.alert({
      title,
      body: m('notify.body', {
        client: clientLabel(c.dialog, m('card.noName')),
        channel: t(`channel.${c.dialog.channel}` as const),
      }),
      tag: `dziennik-dialog-${c.dialog.id}`,
      onClick: () => navigate(linkTo(c.dialog.id)),
    });
  });

  const commands = useRef<ConversationCommands | null>(null);
  const [helpOpen, setHelpOpen] = useState(false);
  useShortcuts({
    next: (delta) => {
      if (activeItems.length === 0) return;
      const i = activeItems.findIndex((d) => d.id === dialogId);
      const j = i < 0 ? (delta > 0 ? 0 : activeItems.length - 1) : i + delta;
      const target = activeItems[Math.max(0, Math.min(activeItems.length - 1, j))];
      if (target && target.id !== dialogId) navigate(linkTo(target.id));
    },
    queue: (n) => {
      const k = kinds[n];
      if (k) setQueue(k);
    },
    commands,
    help: () => setHelpOpen((o) => !o),
  });
  useServiceWorker();

  function setQueue(k: QueueKind) {
    const next = new URLSearchParams(search);
    if (k === 'new') next.delete('queue');
    else next.set('queue', k);
    setSearch(next, { replace: true });
  }

  const queuePane = (
    <QueuePane
      queues={queues}
      active={active}
      onActive={setQueue}
      selectedId={dialogId}
      linkTo={linkTo}
      notify={notify}
      help={<ShortcutsHelp opened={helpOpen} onChange={setHelpOpen} />}
    />
  );
  const conversation =
    dialogId === null ? (
      <Center h="100%" p="md">
        <Text c={MUTED}>{m('noSelection')}</Text>
      </Center>
    ) : (
      <Conversation
        key={dialogId}
        dialogId={dialogId}
        onBack={isPhone ? () => navigate(listPath) : undefined}
        showCard={wide && !isPhone}
        commands={commands}
        visible={visible}
      />
    );

  return (
    <Box h={`calc(100dvh - ${HEADER}px)`} style={{ display: 'flex', minHeight: 0 }} data-testid="workspace">
      <VisuallyHidden component="h1">{t('nav.workspace')}</VisuallyHidden>
      {isPhone ? (
        <Box style={{ flex: 1, minWidth: 0 }}>{dialogId === null ? queuePane : conversation}</Box>
      ) : (
        <>
          <Box
            component="section"
            aria-label={m('queues')}
            w={340}
            style={{ flexShrink: 0, borderRight: '1px solid var(--mantine-color-gray-3)', minHeight: 0 }}
          >
            {queuePane}
          </Box>
          <Box component="section" aria-label={m('conv.messages')} style={{ flex: 1, minWidth: 0, minHeight: 0 }}>
            {conversation}
          </Box>
        </>
      )}
    </Box>
  );
}

/** Whether the tab is shown (a hidden tab does not read messages). */
function usePageVisible() {
  const [visible, setVisible] = useState(() => document.visibilityState === 'visible');
  useEffect(() => {
    const sync = () => setVisible(document.visibilityState === 'visible');
    document.addEventListener('visibilitychange', sync);
    return () => document.removeEventListener('visibilitychange', sync);
  }, []);
  return visible;
}

/**
 * j / k next and previous dialog, 1–3 the queues, t take, e close, r the message box, ? the help.
 * Not while typing, nor inside a modal or a menu.
 */
function useShortcuts(h: {
  next: (delta: number) => void;
  queue: (index: number) => void;
  commands: React.RefObject<ConversationCommands | null>;
  help: () => void;
}) {
  const ref = useRef(h);
  ref.current = h;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
      const el = e.target instanceof Element ? e.target : null;
      if (
        el?.closest(
          'input, textarea, select, [contenteditable=""], [contenteditable="true"], [role="dialog"], [role="listbox"], [role="menu"]',
        )
      ) {
        return;
      }
      const x = ref.current;
      switch (e.key) {
        case 'j':
          x.next(1);
          break;
        case 'k':
          x.next(-1);
          break;
        case '1':
        case '2':
        case '3':
          x.queue(Number(e.key) - 1);
          break;
        case 't':
          x.commands.current?.take();
          break;
        case 'e':
          x.commands.current?.close();
          break;
        case 'r':
          x.commands.current?.focusComposer();
          break;
        case '?':
          x.help();
          break;
        default:
          return;
      }
      e.preventDefault();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);
}

/** Installable as a PWA: the service worker (web/public/sw.js) in production builds only. */
function useServiceWorker() {
  useEffect(() => {
    if (!import.meta.env.PROD || !('serviceWorker' in navigator)) return;
    navigator.serviceWorker.register('/sw.js').catch(() => {
      // Without it the app still works; it just cannot be installed or start offline.
    });
  }, []);
}
