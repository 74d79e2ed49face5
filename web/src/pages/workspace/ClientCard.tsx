import { Box, Divider, Stack, Text, Title } from '@mantine/core';
import type { ReactNode } from 'react';
import type { Dialog } from '../../api';
import { useFormat } from '../../format';
import { useI18n } from '../../i18n';
import { ExternalLink, MUTED } from './bits';
import { useWorkspaceMessages } from './messages';

/** Who the client is and where they came from: identities on the channel and the visit's source. */
export function ClientCard({ dialog: d }: { dialog: Dialog }) {
  const { t } = useI18n();
  const m = useWorkspaceMessages();
  const f = useFormat();
  const s = d.source;
  const duration = (sec: number) =>
    sec < 120
      ? m('card.seconds', { n: sec })
      : sec < 7200
        ? m('card.minutes', { n: Math.round(sec / 60) })
        : m('card.hours', { n: Math.round(sec / 360) / 10 });
  return (
    <Stack gap="sm" p="sm" data-testid="client-card">
      <Title order={3} size="h5">
        {m('card.title')}
      </Title>
      <Box component="dl" m={0}>
        <Row label={m('card.name')}>{d.client.name.trim() || m('card.noName')}</Row>
        {d.client.phone && <Row label={m('card.phone')}>{d.client.phone}</Row>}
        {d.client.handle && (
          <Row label={m('card.handle')}>
            {d.client.handle.startsWith('@') ? d.client.handle : `@${d.client.handle}`}
          </Row>
        )}
        <Row label={m('card.channel')}>
          {t(`channel.${d.channel}` as const)}
          {d.senderLabel ? ` (${d.senderLabel})` : ''}
        </Row>
      </Box>
      <Divider />
      <Title order={3} size="h5">
        {m('card.source')}
      </Title>
      {s ? (
        <Box component="dl" m={0} data-testid="visit-source">
          {s.label && <Row label={m('card.label')}>{s.label}</Row>}
          {s.channelGroup && <Row label={m('card.group')}>{s.channelGroup}</Row>}
          {s.utmSource && <Row label="utm_source">{s.utmSource}</Row>}
          {s.utmMedium && <Row label="utm_medium">{s.utmMedium}</Row>}
          {s.utmCampaign && <Row label="utm_campaign">{s.utmCampaign}</Row>}
          {s.utmTerm && <Row label="utm_term">{s.utmTerm}</Row>}
          {s.utmContent && <Row label="utm_content">{s.utmContent}</Row>}
          {s.landingUrl && (
            <Row label={m('card.landing')}>
              <ExternalLink href={s.landingUrl} />
            </Row>
          )}
          {s.referrer && (
            <Row label={m('card.referrer')}>
              <ExternalLink href={s.referrer} />
            </Row>
          )}
          {s.clickIds && <Row label={m('card.clickIds')}>{s.clickIds}</Row>}
        </Box>
      ) : (
        <Text size="sm" c={MUTED}>
          {m('card.noSource')}
        </Text>
      )}
      <Divider />
      <Title order={3} size="h5">
        {m('card.dialog')}
      </Title>
      <Box component="dl" m={0}>
        <Row label={m('card.created')}>{f.dateTime(d.createdAt)}</Row>
        {d.firstResponseSeconds !== null && (
          <Row label={m('card.firstResponse')}>{duration(d.firstResponseSeconds)}</Row>
        )}
        <Row label={m('card.counts')}>
          {d.messageCounts.in} / {d.messageCounts.out}
        </Row>
      </Box>
    </Stack>
  );
}

function Row({ label, children }: { label: string; children: ReactNode }) {
  return (
    <Box mb={6}>
      <Text component="dt" size="xs" c={MUTED}>
        {label}
      </Text>
      <Text component="dd" size="sm" m={0} style={{ overflowWrap: 'anywhere' }}>
        {children}
      </Text>
    </Box>
  );
}
