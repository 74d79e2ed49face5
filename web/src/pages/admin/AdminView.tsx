import { Stack, Tabs, Title } from '@mantine/core';
import { useNavigate, useParams } from 'react-router';
import { useProject } from '../../session';
import { SECTIONS, type Section } from './adminApi';
import { ChannelsSection } from './ChannelsSection';
import { CONTRAST_VARS } from './contrast';
import { useAdminMessages } from './messages';
import { NumbersSection } from './NumbersSection';
import { ServicesSection } from './ServicesSection';
import { SettingsSection } from './SettingsSection';
import { SetupChecklist } from './SetupChecklist';
import { TokensSection } from './TokensSection';
import { UsersSection } from './UsersSection';
import { WebhooksSection } from './WebhooksSection';
import { WidgetSection } from './WidgetSection';

/**
 * Administration (issue 4 §4, SPEC §4.8): the setup checklist of R8 on top, each unmet item linking
 * to the section that fixes it; below, one tab per section, the open one in the URL
 * (`/p/:projectId/admin/:section`) so that a link or the back button lands on it.
 */
export default function AdminView() {
  const m = useAdminMessages();
  const { project } = useProject();
  const navigate = useNavigate();
  const splat = useParams()['*'] ?? '';
  const section: Section = (SECTIONS as readonly string[]).includes(splat) ? (splat as Section) : 'users';
  const hrefOf = (s: Section) => `/p/${project.id}/admin/${s}`;

  return (
    <Stack p="md" gap="md" maw={1200} style={CONTRAST_VARS}>
      <Title order={2}>{m('title')}</Title>
      <SetupChecklist hrefOf={hrefOf} />
      <Tabs value={section} onChange={(v) => v && navigate(hrefOf(v as Section))} keepMounted={false}>
        <Tabs.List>
          {SECTIONS.map((s) => (
            <Tabs.Tab key={s} value={s} data-testid={`admin-tab-${s}`}>
              {m(`section.${s}`)}
            </Tabs.Tab>
          ))}
        </Tabs.List>
        <Tabs.Panel value="users" pt="md">
          <UsersSection />
        </Tabs.Panel>
        <Tabs.Panel value="channels" pt="md">
          <ChannelsSection />
        </Tabs.Panel>
        <Tabs.Panel value="numbers" pt="md">
          <NumbersSection hrefOf={hrefOf} />
        </Tabs.Panel>
        <Tabs.Panel value="widget" pt="md">
          <WidgetSection />
        </Tabs.Panel>
        <Tabs.Panel value="services" pt="md">
          <ServicesSection />
        </Tabs.Panel>
        <Tabs.Panel value="settings" pt="md">
          <SettingsSection />
        </Tabs.Panel>
        <Tabs.Panel value="webhooks" pt="md">
          <WebhooksSection />
        </Tabs.Panel>
        <Tabs.Panel value="tokens" pt="md">
          <TokensSection />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}
