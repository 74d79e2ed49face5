import { AppShell, Badge, Burger, Group, Menu, NavLink, Select, Text, Tooltip, UnstyledButton } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import type { ReactNode } from 'react';
import { NavLink as RouterLink, useNavigate } from 'react-router';
import { LOCALE_NAMES, LOCALES, type Locale, useI18n, useMessages } from '../i18n';
import { ANALYTICS_NAV } from '../pages/analytics/messages';
import { useAuthActions, useProject } from '../session';

/** The frame around every page: navigation, project switch, language and sign-out. */
export function Layout({ children, connected }: { children: ReactNode; connected: boolean }) {
  const { t, locale, setLocale } = useI18n();
  const { me, project } = useProject();
  const { logout } = useAuthActions();
  const analyticsNav = useMessages(ANALYTICS_NAV);
  const navigate = useNavigate();
  const [opened, { toggle, close }] = useDisclosure();
  const links = [
    { to: `/p/${project.id}/workspace`, label: t('nav.workspace') },
    { to: `/p/${project.id}/log`, label: t('nav.log') },
    // Every role: a manager sees the figures of the dialogs the log shows them (docs/ANALYTICS.md).
    { to: `/p/${project.id}/analytics`, label: analyticsNav('nav') },
    ...(project.role === 'admin' ? [{ to: `/p/${project.id}/admin`, label: t('nav.admin') }] : []),
  ];
  return (
    <AppShell
      header={{ height: 52 }}
      navbar={{ width: 210, breakpoint: 'sm', collapsed: { mobile: !opened } }}
      padding={0}
    >
      <AppShell.Header>
        <Group h="100%" px="sm" justify="space-between" wrap="nowrap">
          <Group gap="xs" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Menu" />
            <Text fw={700}>{t('app.name')}</Text>
            {me.projects.length > 1 ? (
              <Select
                aria-label={t('user.project')}
                size="xs"
                w={200}
                data={me.projects.map((p) => ({ value: String(p.id), label: p.name }))}
                value={String(project.id)}
                onChange={(v) => v && navigate(`/p/${v}/workspace`)}
                allowDeselect={false}
              />
            ) : (
              <Text c="gray.7" size="sm" visibleFrom="xs">
                {project.name}
              </Text>
            )}
          </Group>
          <Group gap="xs" wrap="nowrap">
            <Tooltip label={connected ? 'Live' : 'Offline'}>
              <Badge size="xs" variant="dot" color={connected ? 'green' : 'gray'} data-testid="live-indicator">
                {connected ? 'live' : 'offline'}
              </Badge>
            </Tooltip>
            <Menu position="bottom-end" withinPortal>
              <Menu.Target>
                <UnstyledButton aria-label={me.user.name} data-testid="user-menu">
                  <Text size="sm" fw={500}>
                    {me.user.name}
                  </Text>
                </UnstyledButton>
              </Menu.Target>
              <Menu.Dropdown>
                <Menu.Label>{t('user.language')}</Menu.Label>
                {LOCALES.map((l: Locale) => (
                  <Menu.Item
                    key={l}
                    onClick={() => setLocale(l)}
                    fw={l === locale ? 700 : 400}
                    data-testid={`lang-${l}`}
                  >
                    {LOCALE_NAMES[l]}
                  </Menu.Item>
                ))}
                <Menu.Divider />
                <Menu.Item color="red" onClick={() => void logout()}>
                  {t('user.logout')}
                </Menu.Item>
              </Menu.Dropdown>
            </Menu>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs">
        {links.map((l) => (
          <NavLink key={l.to} component={RouterLink} to={l.to} label={l.label} onClick={close} />
        ))}
      </AppShell.Navbar>
      <AppShell.Main>{children}</AppShell.Main>
    </AppShell>
  );
}
