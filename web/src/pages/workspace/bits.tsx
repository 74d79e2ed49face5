import { Anchor, Box, Text, Tooltip } from '@mantine/core';
import type { ReactNode } from 'react';
import type { Dialog, Message } from '../../api';
import { useI18n } from '../../i18n';

/** Small pieces shared by the workspace's panes. */

/** The client as a person would name them: name, else phone, else messenger handle. */
export function clientLabel(d: Pick<Dialog, 'client'>, fallback: string): string {
  return d.client.name.trim() || d.client.phone || (d.client.handle ? `@${d.client.handle}` : '') || fallback;
}

/** Colours chosen for contrast (WCAG AA) on white and on the light bubbles. */
export const ACCENT = 'blue.8';
export const MUTED = 'gray.7';

const MARKS: Record<Message['status'], { glyph: string; color: string }> = {
  queued: { glyph: '○', color: MUTED },
  sent: { glyph: '✓', color: MUTED },
  delivered: { glyph: '✓✓', color: MUTED },
  read: { glyph: '✓✓', color: 'blue.9' },
  failed: { glyph: '⚠', color: 'red.9' },
};

/** queued ○, sent ✓, delivered ✓✓, read ✓✓ in blue, failed ⚠ with the reason on hover. */
export function DeliveryMark({ message }: { message: Pick<Message, 'status' | 'failureReason'> }) {
  const { t } = useI18n();
  const mark = MARKS[message.status];
  const label =
    message.status === 'failed' && message.failureReason
      ? `${t('msg.failed')}: ${message.failureReason}`
      : t(`msg.${message.status}`);
  return (
    <Tooltip label={label} withArrow openDelay={200}>
      <Text
        component="span"
        role="img"
        aria-label={label}
        size="xs"
        fw={700}
        c={mark.color}
        data-status={message.status}
        data-testid="delivery-mark"
        style={{ letterSpacing: '-0.15em', cursor: 'default' }}
      >
        {mark.glyph}
      </Text>
    </Tooltip>
  );
}

const URL_RE = /\bhttps?:\/\/[^\s<>"']+/gi;

/** Text as text (never HTML); http(s) addresses become links that cannot reach back to this page. */
export function Linkified({ text }: { text: string }) {
  const out: ReactNode[] = [];
  let last = 0;
  for (const m of text.matchAll(URL_RE)) {
    let url = m[0];
    // Sentence punctuation after an address is not part of it.
    const trail = /[.,;:!?)\]]+$/.exec(url)?.[0] ?? '';
    if (trail) url = url.slice(0, -trail.length);
    const start = m.index ?? 0;
    if (start > last) out.push(text.slice(last, start));
    out.push(
      <Anchor key={start} href={url} target="_blank" rel="noopener noreferrer" c={ACCENT} underline="always">
        {url}
      </Anchor>,
    );
    last = start + url.length;
  }
  if (last < text.length) out.push(text.slice(last));
  return <>{out}</>;
}

/** A link to an external page (landing page, referrer) only when it is http(s); text otherwise. */
export function ExternalLink({ href }: { href: string }) {
  let ok = false;
  try {
    const u = new URL(href);
    ok = u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    ok = false;
  }
  if (!ok) return <Text span>{href}</Text>;
  return (
    <Anchor href={href} target="_blank" rel="noopener noreferrer" c={ACCENT} style={{ wordBreak: 'break-all' }}>
      {href}
    </Anchor>
  );
}

const TONES = {
  info: { bg: 'blue.0', border: 'var(--mantine-color-blue-7)' },
  warning: { bg: 'yellow.0', border: 'var(--mantine-color-yellow-8)' },
  danger: { bg: 'red.0', border: 'var(--mantine-color-red-8)' },
} as const;

/** A one-line notice above the composer; the text keeps the default (readable) colour. */
export function Banner({
  tone,
  children,
  testId,
  role = 'status',
}: {
  tone: keyof typeof TONES;
  children: ReactNode;
  testId?: string;
  role?: 'status' | 'alert';
}) {
  const t = TONES[tone];
  return (
    <Box
      role={role}
      data-testid={testId}
      bg={t.bg}
      px="sm"
      py={6}
      style={{ borderLeft: `3px solid ${t.border}`, borderRadius: 4 }}
    >
      <Text size="sm" c="dark.8">
        {children}
      </Text>
    </Box>
  );
}
