import {
  ActionIcon,
  Badge,
  Box,
  Button,
  Drawer,
  Group,
  Modal,
  Select,
  Stack,
  Text,
  Textarea,
  Title,
} from '@mantine/core';
import { type RefObject, useEffect, useMemo, useRef, useState } from 'react';
import { ApiError, type Dialog, type DialogDetail, type Message, newIdempotencyKey } from '../../api';
import { Failure, Loading } from '../../components/States';
import { useFormat } from '../../format';
import { useI18n } from '../../i18n';
import { useProject } from '../../session';
import { ACCENT, Banner, clientLabel, MUTED } from './bits';
import { ClientCard } from './ClientCard';
import { Composer } from './Composer';
import { MessageList, type PendingMessage } from './MessageList';
import { useWorkspaceMessages } from './messages';
import { chronological, useDialog, useDialogActions, useMarkRead, useMembers, useMessagesHistory } from './queries';

const HOUR = 3_600_000;
const MESSENGER_WINDOW_MS = 24 * HOUR;
const MESSENGER_HUMAN_AGENT_MS = 7 * 24 * HOUR;

/** What the workspace's keyboard shortcuts can ask of the open conversation. */
export interface ConversationCommands {
  take(): void;
  close(): void;
  focusComposer(): void;
}

export function Conversation({
  dialogId,
  onBack,
  showCard,
  commands,
  visible,
}: {
  dialogId: number;
  /** On a phone: back to the queues. */
  onBack?: () => void;
  /** The client card sits beside the conversation (wide screens); otherwise it opens in a drawer. */
  showCard: boolean;
  commands: RefObject<ConversationCommands | null>;
  /** The page is being looked at (messages count as read only then). */
  visible: boolean;
}) {
  const dialog = useDialog(dialogId);
  const m = useWorkspaceMessages();
  if (dialog.isPending) return <Loading />;
  if (dialog.isError) {
    return (
      <Stack p="md">
        {onBack && <BackButton onBack={onBack} />}
        <Failure error={dialog.error} onRetry={() => void dialog.refetch()} />
      </Stack>
    );
  }
  return (
    <Group gap={0} h="100%" wrap="nowrap" align="stretch" mih={0}>
      <ConversationMain
        key={dialogId}
        dialog={dialog.data}
        onBack={onBack}
        showCard={showCard}
        commands={commands}
        visible={visible}
      />
      {showCard && (
        <Box
          component="aside"
          aria-label={m('card.title')}
          w={300}
          style={{ flexShrink: 0, overflowY: 'auto', borderLeft: '1px solid var(--mantine-color-gray-3)' }}
        >
          <ClientCard dialog={dialog.data} />
        </Box>
      )}
    </Group>
  );
}

function BackButton({ onBack }: { onBack: () => void }) {
  const m = useWorkspaceMessages();
  return (
    <ActionIcon variant="subtle" color="gray.8" onClick={onBack} aria-label={m('back')} data-testid="back" size="lg">
      <svg
        width="20"
        height="20"
        viewBox="0 0 24 24"
        fill="none"
        stroke="currentColor"
        strokeWidth="2"
        aria-hidden="true"
      >
        <path d="M15 18l-6-6 6-6" />
      </svg>
    </ActionIcon>
  );
}

let pendingSeq = 0;

function ConversationMain({
  dialog: d,
  onBack,
  showCard,
  commands,
  visible,
}: {
  dialog: Dialog;
  onBack?: (() => void) | undefined;
  showCard: boolean;
  commands: RefObject<ConversationCommands | null>;
  visible: boolean;
}) {
  const { t } = useI18n();
  const m = useWorkspaceMessages();
  const f = useFormat();
  const { me, isSupervising } = useProject();
  const history = useMessagesHistory(d.id);
  const messages = useMemo(() => chronological(history.data), [history.data]);
  const actions = useDialogActions(d.id);
  const markRead = useMarkRead();
  const [text, setText] = useState('');
  const [pending, setPending] = useState<PendingMessage[]>([]);
  const [sendError, setSendError] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [closing, setClosing] = useState(false);
  const [transferring, setTransferring] = useState(false);
  const [cardOpen, setCardOpen] = useState(false);
  const composerRef = useRef<HTMLTextAreaElement>(null);
  /** The last send that failed, with its Idempotency-Key (reused if the same text is sent again). */
  const failedSend = useRef<{ text: string; key: string } | null>(null);
  const now = useNow();

  const mine = d.manager?.id === me.user.id;
  // Manual distribution: an unassigned dialog waits for a supervisor to assign it.
  const waitsForAssignment = !isSupervising && d.manager === null && (d as DialogDetail).distributionMode === 'manual';
  const canAct = isSupervising || mine || (d.manager === null && !waitsForAssignment);
  const closed = d.status === 'closed';
  const canTake = !closed && !mine && (isSupervising || (d.manager === null && !waitsForAssignment));
  const canTransfer = !closed && (mine || isSupervising);

  // Opening a dialog reads it — when it concerns me (mine, or nobody's yet) and I am looking.
  const unread = d.unreadCount;
  const markReadMutate = markRead.mutate;
  useEffect(() => {
    if (unread > 0 && visible && (d.manager === null || mine)) markReadMutate(d.id);
  }, [unread, visible, d.id, d.manager, mine, markReadMutate]);

  const rule = useSendRule(d, messages, now);

  const run = async (p: Promise<unknown>) => {
    setActionError(null);
    try {
      await p;
      return true;
    } catch (e) {
      setActionError(e instanceof Error ? e.message : String(e));
      return false;
    }
  };
  const take = () => void run(actions.assign.mutateAsync(me.user.id));

  // What the keyboard shortcuts reach; re-registered each render so that it sees the current state.
  useEffect(() => {
    const own: ConversationCommands = {
      take: () => canTake && take(),
      close: () => !closed && canAct && setClosing(true),
      focusComposer: () => composerRef.current?.focus(),
    };
    commands.current = own;
    return () => {
      if (commands.current === own) commands.current = null;
    };
  });

  const send = (value: string) => {
    const key = ++pendingSeq;
    setSendError(null);
    setPending((p) => [...p, { key, text: value }]);
    setText('');
    // The same text sent again right after a failure keeps its Idempotency-Key: if the first attempt
    // did reach the server (only its answer was lost), the client still gets one message. Only the very
    // next send may reuse it, so a later message with the same words is a new message.
    const last = failedSend.current;
    failedSend.current = null;
    const idempotencyKey = last && last.text === value ? last.key : newIdempotencyKey();
    // mutateAsync: every send hears its own outcome, even when another was sent before it settled.
    actions.reply
      .mutateAsync({ text: value, key: idempotencyKey })
      .catch((e: unknown) => {
        failedSend.current = { text: value, key: idempotencyKey };
        // The server says plainly why (blocked, unsubscribed, closed, outside Messenger's window).
        setSendError(e instanceof ApiError ? e.message : String(e));
        setText((cur) => (cur.trim() ? cur : value));
      })
      .finally(() => setPending((p) => p.filter((x) => x.key !== key)));
  };

  const name = clientLabel(d, m('card.noName'));
  return (
    <Stack gap={0} style={{ flex: 1, minWidth: 0 }} h="100%" data-testid="conversation" data-dialog-id={d.id}>
      <Box px="sm" py={8} style={{ borderBottom: '1px solid var(--mantine-color-gray-3)' }}>
        <Group justify="space-between" wrap="wrap" gap="xs">
          <Group gap="xs" wrap="nowrap" style={{ minWidth: 0 }}>
            {onBack && <BackButton onBack={onBack} />}
            <Box style={{ minWidth: 0 }}>
              <Title order={2} size="h4" lineClamp={1} data-testid="conversation-title">
                {name}
              </Title>
              <Group gap={6} wrap="wrap">
                <Badge size="sm" variant="outline" color="gray.8">
                  {t(`channel.${d.channel}` as const)}
                </Badge>
                <Badge
                  size="sm"
                  variant="outline"
                  color={closed ? 'gray.8' : d.status === 'new' ? 'blue.9' : 'teal.9'}
                  data-testid="status"
                >
                  {t(`status.${d.status}` as const)}
                </Badge>
                <Text size="xs" c={MUTED} data-testid="manager">
                  {d.manager
                    ? m('conv.handledBy', { name: mine ? m('queue.you') : (d.manager.name ?? '') })
                    : m('conv.unassigned')}
                </Text>
              </Group>
            </Box>
          </Group>
          <Group gap={6} wrap="wrap">
            {canTake && (
              <Button size="xs" color={ACCENT} onClick={take} loading={actions.assign.isPending} data-testid="take">
                {m('action.take')}
              </Button>
            )}
            {canTransfer && (
              <Button size="xs" variant="default" onClick={() => setTransferring(true)} data-testid="transfer">
                {m('action.transfer')}
              </Button>
            )}
            {!closed && canAct && (
              <Button size="xs" variant="default" onClick={() => setClosing(true)} data-testid="close">
                {m('action.close')}
              </Button>
            )}
            {closed && canAct && (
              <Button
                size="xs"
                variant="default"
                onClick={() => void run(actions.reopen.mutateAsync())}
                loading={actions.reopen.isPending}
                data-testid="reopen"
              >
                {m('action.reopen')}
              </Button>
            )}
            {!showCard && (
              <Button
                size="xs"
                variant="subtle"
                color={ACCENT}
                onClick={() => setCardOpen(true)}
                data-testid="open-card"
              >
                {m('action.client')}
              </Button>
            )}
          </Group>
        </Group>
        {actionError && !closing && !transferring && (
          <Box mt={6}>
            <Banner tone="danger" role="alert" testId="action-error">
              {actionError}
            </Banner>
          </Box>
        )}
      </Box>

      {history.isPending ? (
        <Box style={{ flex: 1 }}>
          <Loading />
        </Box>
      ) : history.isError ? (
        <Box style={{ flex: 1 }}>
          <Failure error={history.error} onRetry={() => void history.refetch()} />
        </Box>
      ) : (
        <MessageList
          messages={messages}
          pending={pending}
          hasOlder={history.hasNextPage}
          loadingOlder={history.isFetchingNextPage}
          loadOlder={() => {
            if (history.hasNextPage && !history.isFetchingNextPage) void history.fetchNextPage();
          }}
        />
      )}

      <Stack gap={6} p="sm" style={{ borderTop: '1px solid var(--mantine-color-gray-3)' }}>
        {closed ? (
          <Banner tone="info" testId="closed-info">
            {m('conv.closedInfo', { date: f.dateTime(d.closedAt), name: d.closedBy?.name ?? '—' })}
            {d.closeReason ? ` · ${m('conv.closedReason', { reason: d.closeReason })}` : ''}
          </Banner>
        ) : waitsForAssignment ? (
          <Banner tone="info" testId="waits-for-assignment">
            {m('conv.manualOnly')}
          </Banner>
        ) : !canAct ? (
          <Banner tone="info" testId="not-yours">
            {m('conv.notYours', { name: d.manager?.name ?? '' })}
          </Banner>
        ) : (
          <>
            {!d.canReply && (
              <Banner tone="warning" testId="warn-cannot-reply">
                {m('warn.cannotReply')}
              </Banner>
            )}
            {rule.unreachable && (
              <Banner tone="warning" testId="warn-unreachable">
                {rule.unreachable === 'unsubscribed' ? m('warn.unsubscribed') : m('warn.blocked')}
              </Banner>
            )}
            {rule.messenger === 'HUMAN_AGENT' && (
              <Banner tone="info" testId="warn-human-agent">
                {m('warn.humanAgent')}
              </Banner>
            )}
            {rule.messenger === 'closed' && (
              <Banner tone="warning" testId="warn-messenger-closed">
                {m('warn.messengerClosed')}
              </Banner>
            )}
            {sendError && (
              <Banner tone="danger" role="alert" testId="send-error">
                {sendError}
              </Banner>
            )}
            <Composer
              sms={d.channel === 'sms'}
              disabled={rule.messenger === 'closed'}
              busy={false}
              onSend={send}
              inputRef={composerRef}
              value={text}
              onChange={setText}
            />
          </>
        )}
      </Stack>

      <CloseModal
        opened={closing}
        onClose={() => setClosing(false)}
        busy={actions.close.isPending}
        onSubmit={async (reason) => {
          if (await run(actions.close.mutateAsync(reason))) setClosing(false);
        }}
        error={actionError}
      />
      <TransferModal
        opened={transferring}
        onClose={() => setTransferring(false)}
        currentManagerId={d.manager?.id ?? null}
        busy={actions.assign.isPending}
        onSubmit={async (id) => {
          if (await run(actions.assign.mutateAsync(id))) setTransferring(false);
        }}
        error={actionError}
      />
      <Drawer
        opened={cardOpen && !showCard}
        onClose={() => setCardOpen(false)}
        position="right"
        size="sm"
        title={name}
        closeButtonProps={{ 'aria-label': t('common.close') }}
      >
        <ClientCard dialog={d} />
      </Drawer>
    </Stack>
  );
}

/** The clock, a minute at a time (Messenger's window moves while the dialog is open). */
function useNow() {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), 60_000);
    return () => clearInterval(id);
  }, []);
  return now;
}

/**
 * What the platform will allow, as far as the workspace can tell before sending (the server has
 * the last word and answers 409 with the reason): Messenger's 24-hour window and HUMAN_AGENT up to
 * 7 days, from the client's last message; a blocked bot or an unsubscribed Viber client, from a
 * refusal newer than the client's last message.
 */
function useSendRule(d: DialogDetail, messages: Message[], now: number) {
  return useMemo(() => {
    // The server's facts when the detail carries them; otherwise inferred from the loaded messages.
    let lastIn: number | null = d.lastClientMessageAt
      ? Date.parse(d.lastClientMessageAt)
      : d.lastDirection === 'in' && d.lastMessageAt
        ? Date.parse(d.lastMessageAt)
        : null;
    let refusal: { at: number; reason: string } | null = null;
    for (let i = messages.length - 1; i >= 0; i--) {
      const msg = messages[i]!;
      const at = Date.parse(msg.createdAt);
      if (msg.direction === 'in') {
        lastIn = Math.max(lastIn ?? 0, at);
        break;
      }
      if (!refusal && msg.status === 'failed' && /^(blocked|deactivated|unsubscribed)$/.test(msg.failureReason ?? '')) {
        refusal = { at, reason: msg.failureReason! };
      }
    }
    let messenger: 'HUMAN_AGENT' | 'closed' | undefined;
    // Unknown when the client's last message is not among the loaded ones: the server decides.
    if (d.channel === 'messenger' && lastIn !== null) {
      const age = now - lastIn;
      messenger = age <= MESSENGER_WINDOW_MS ? undefined : age <= MESSENGER_HUMAN_AGENT_MS ? 'HUMAN_AGENT' : 'closed';
    }
    let unreachable: 'blocked' | 'unsubscribed' | null = null;
    if (d.clientReachable) {
      unreachable = d.clientReachable.reachable ? null : (d.clientReachable.reason ?? 'blocked');
    } else if (refusal && (lastIn === null || refusal.at > lastIn)) {
      unreachable = refusal.reason === 'unsubscribed' ? 'unsubscribed' : 'blocked';
    }
    return { messenger, unreachable };
  }, [d.channel, d.lastDirection, d.lastMessageAt, d.lastClientMessageAt, d.clientReachable, messages, now]);
}

function CloseModal({
  opened,
  onClose,
  onSubmit,
  busy,
  error,
}: {
  opened: boolean;
  onClose: () => void;
  onSubmit: (reason: string) => void;
  busy: boolean;
  error: string | null;
}) {
  const m = useWorkspaceMessages();
  const { t } = useI18n();
  const [reason, setReason] = useState('');
  useEffect(() => {
    if (opened) setReason('');
  }, [opened]);
  return (
    <Modal
      opened={opened}
      onClose={onClose}
      title={m('close.title')}
      closeButtonProps={{ 'aria-label': t('common.close') }}
    >
      <form
        onSubmit={(e) => {
          e.preventDefault();
          onSubmit(reason);
        }}
      >
        <Stack>
          <Textarea
            label={m('close.reason')}
            value={reason}
            onChange={(e) => setReason(e.currentTarget.value)}
            maxLength={500}
            autosize
            minRows={2}
            data-autofocus
            data-testid="close-reason"
            onKeyDown={(e) => {
              if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
                e.preventDefault();
                onSubmit(reason);
              }
            }}
          />
          {error && (
            <Banner tone="danger" role="alert">
              {error}
            </Banner>
          )}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              {t('common.cancel')}
            </Button>
            <Button type="submit" color="red.9" loading={busy} data-testid="close-submit">
              {m('close.submit')}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

function TransferModal({
  opened,
  onClose,
  onSubmit,
  currentManagerId,
  busy,
  error,
}: {
  opened: boolean;
  onClose: () => void;
  onSubmit: (managerId: number) => void;
  currentManagerId: number | null;
  busy: boolean;
  error: string | null;
}) {
  const m = useWorkspaceMessages();
  const { t } = useI18n();
  const members = useMembers(opened);
  const [to, setTo] = useState<string | null>(null);
  useEffect(() => {
    if (opened) setTo(null);
  }, [opened]);
  const options = (members.data ?? [])
    .filter((u) => u.id !== currentManagerId)
    .map((u) => ({ value: String(u.id), label: u.name }));
  return (
    <Modal
      opened={opened}
      onClose={onClose}
      title={m('transfer.title')}
      closeButtonProps={{ 'aria-label': t('common.close') }}
    >
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (to) onSubmit(Number(to));
        }}
      >
        <Stack>
          {members.isError ? (
            <Failure error={members.error} onRetry={() => void members.refetch()} />
          ) : (
            <Select
              label={m('transfer.to')}
              data={options}
              value={to}
              onChange={setTo}
              searchable
              disabled={members.isPending}
              data-autofocus
              data-testid="transfer-to"
              comboboxProps={{ withinPortal: true }}
            />
          )}
          {error && (
            <Banner tone="danger" role="alert">
              {error}
            </Banner>
          )}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              {t('common.cancel')}
            </Button>
            <Button type="submit" color={ACCENT} disabled={!to} loading={busy} data-testid="transfer-submit">
              {m('transfer.submit')}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
