import { Box, Center, Group, Loader, Paper, Text } from '@mantine/core';
import { Fragment, useEffect, useRef } from 'react';
import type { Message } from '../../api';
import { useFormat } from '../../format';
import { useI18n } from '../../i18n';
import { DeliveryMark, Linkified, MUTED } from './bits';
import { useWorkspaceMessages } from './messages';

export interface PendingMessage {
  key: number;
  text: string;
}

/**
 * The conversation, oldest at the top. The scroller is a reversed flex box around one ordinary
 * column: the browser keeps it anchored at the bottom, so it opens at the newest message, stays
 * there as messages arrive, and does not jump when older pages are put on top. Reaching the top
 * loads the previous page.
 */
export function MessageList({
  messages,
  pending,
  hasOlder,
  loadingOlder,
  loadOlder,
}: {
  messages: Message[];
  pending: PendingMessage[];
  hasOlder: boolean;
  loadingOlder: boolean;
  loadOlder: () => void;
}) {
  const m = useWorkspaceMessages();
  const f = useFormat();
  const scroller = useRef<HTMLDivElement>(null);
  const sentinel = useRef<HTMLDivElement>(null);
  const load = useRef(loadOlder);
  load.current = loadOlder;

  useEffect(() => {
    const root = scroller.current;
    const el = sentinel.current;
    if (!root || !el || !hasOlder) return;
    const io = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && load.current(), {
      root,
      rootMargin: '300px 0px 0px 0px',
    });
    io.observe(el);
    return () => io.disconnect();
  }, [hasOlder]);

  // After one's own send, show the bottom even if one had scrolled up.
  const pendingCount = pending.length;
  useEffect(() => {
    if (pendingCount > 0 && scroller.current) scroller.current.scrollTop = 0;
  }, [pendingCount]);

  let lastDay = '';
  return (
    <Box
      ref={scroller}
      role="log"
      aria-label={m('conv.messages')}
      tabIndex={0}
      data-testid="message-list"
      style={{ flex: 1, minHeight: 0, overflowY: 'auto', display: 'flex', flexDirection: 'column-reverse' }}
      bg="gray.0"
    >
      <Box px="sm" py="xs">
        <div ref={sentinel} />
        {hasOlder ? (
          <Center py="xs" aria-busy={loadingOlder}>
            <Group gap="xs">
              <Loader size="xs" />
              <Text size="xs" c={MUTED}>
                {m('conv.loadingOlder')}
              </Text>
            </Group>
          </Center>
        ) : (
          <Center py="xs">
            <Text size="xs" c={MUTED}>
              {messages.length ? m('conv.start') : m('conv.empty')}
            </Text>
          </Center>
        )}
        {messages.map((msg) => {
          const day = f.date(msg.createdAt);
          const sep = day !== lastDay;
          lastDay = day;
          return (
            <Fragment key={msg.id}>
              {sep && (
                <Center my={6}>
                  <Text size="xs" c={MUTED} fw={500}>
                    {day}
                  </Text>
                </Center>
              )}
              <Bubble message={msg} />
            </Fragment>
          );
        })}
        {pending.map((p) => (
          <Bubble
            key={`pending-${p.key}`}
            message={{
              id: -p.key,
              dialogId: 0,
              direction: 'out',
              author: { type: 'manager', id: null, name: null },
              text: p.text,
              attachments: [],
              createdAt: new Date().toISOString(),
              status: 'queued',
              failureReason: null,
            }}
            sending
          />
        ))}
      </Box>
    </Box>
  );
}

function Bubble({ message: msg, sending = false }: { message: Message; sending?: boolean }) {
  const { t } = useI18n();
  const m = useWorkspaceMessages();
  const f = useFormat();
  const out = msg.direction === 'out';
  const author =
    msg.author.type === 'client'
      ? null
      : msg.author.type === 'manager'
        ? msg.author.name
        : t(`author.${msg.author.type}` as const);
  return (
    <Group justify={out ? 'flex-end' : 'flex-start'} my={4} wrap="nowrap">
      <Paper
        px="sm"
        py={6}
        radius="md"
        withBorder
        maw="min(640px, 85%)"
        bg={out ? (msg.status === 'failed' ? 'red.0' : 'blue.0') : 'white'}
        data-testid="message"
        data-direction={msg.direction}
        data-message-id={sending ? undefined : msg.id}
        style={{ opacity: sending ? 0.7 : 1 }}
      >
        {author && (
          <Text size="xs" c={MUTED} fw={600}>
            {author}
          </Text>
        )}
        <Text size="sm" style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }} data-testid="message-text">
          <Linkified text={msg.text} />
        </Text>
        <Group gap={6} justify="flex-end" mt={2} wrap="nowrap">
          <Text size="xs" c={MUTED} title={f.full(msg.createdAt)}>
            {sending ? m('conv.sending') : f.time(msg.createdAt)}
          </Text>
          {out && !sending && <DeliveryMark message={msg} />}
        </Group>
        {msg.status === 'failed' && msg.failureReason && (
          <Text size="xs" c="red.9" data-testid="failure-reason">
            {m('conv.failed', { reason: msg.failureReason })}
          </Text>
        )}
      </Paper>
    </Group>
  );
}
