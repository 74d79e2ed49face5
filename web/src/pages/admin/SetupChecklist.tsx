import { Anchor, Button, Collapse, Group, Paper, SimpleGrid, Stack, Text, Title } from '@mantine/core';
import { useState } from 'react';
import { Link } from 'react-router';
import { Failure, Loading } from '../../components/States';
import { type Section, type SetupItem, useSetup } from './adminApi';
import { type AdminMessageKey, useAdminMessages } from './messages';
import { OK_COLOR } from './contrast';

/**
 * The setup checklist of R8: what the Message log needs, whether it holds, and a link to the section
 * that fixes each item. The reasons are the server's stable codes, translated here; an unknown one
 * falls back to the server's English hint.
 */
export function SetupChecklist({ hrefOf }: { hrefOf: (s: Section) => string }) {
  const m = useAdminMessages();
  const setup = useSetup();
  // Folded when everything held at the first look, open otherwise; later changes do not fold or
  // unfold it, so that the page does not jump under the admin's hand as they fix things.
  const [open, setOpen] = useState<boolean | null>(null);
  if (setup.isPending) return <Loading />;
  if (setup.isError) return <Failure error={setup.error} onRetry={() => void setup.refetch()} />;
  const c = setup.data;
  if (open === null) setOpen(!c.ready);
  const expanded = open ?? !c.ready;
  const byPath = (path: SetupItem['path']) => c.items.filter((i) => i.path === path);

  const row = (item: SetupItem) => {
    const reasonKey = `reason.${item.reason}` as AdminMessageKey;
    const hint = item.reason ? (m(reasonKey) === reasonKey ? item.hint : m(reasonKey)) : null;
    return (
      <Group
        key={item.key}
        gap="sm"
        wrap="nowrap"
        align="flex-start"
        data-testid={`setup-${item.key}`}
        data-ok={item.ok ? 'true' : 'false'}
      >
        <Text component="span" fw={700} c={item.ok ? OK_COLOR : 'red.9'} w={18} aria-hidden>
          {item.ok ? '✓' : '✗'}
        </Text>
        <Stack gap={0} style={{ flex: 1 }}>
          <Text fw={500}>
            {m(`setup.${item.key}`)}
            <Text component="span" size="sm" c={item.ok ? OK_COLOR : 'red.9'} ml="xs">
              {item.ok ? m('setup.ok') : m('setup.missing')}
            </Text>
          </Text>
          {hint && (
            <Text size="sm" c="gray.8">
              {hint}{' '}
              <Anchor component={Link} to={hrefOf(item.section)} size="sm" fw={500}>
                {m('setup.fix', { section: m(`section.${item.section}`) })}
              </Anchor>
            </Text>
          )}
        </Stack>
      </Group>
    );
  };

  const groups: [AdminMessageKey, SetupItem['path']][] = [
    ['setup.pathSms', 'sms'],
    ['setup.pathWeb', 'web'],
    ['setup.always', null],
  ];
  const details = (
    <SimpleGrid cols={{ base: 1, md: 3 }} spacing="lg" verticalSpacing="sm">
      {groups.map(([title, path]) => (
        <Stack key={title} gap="xs">
          <Text size="sm" fw={600}>
            {m(title)}
          </Text>
          {byPath(path).map(row)}
        </Stack>
      ))}
    </SimpleGrid>
  );

  return (
    <Paper withBorder p="md" component="section" aria-labelledby="setup-title">
      <Stack gap="sm">
        <Group justify="space-between" wrap="nowrap">
          <Title order={3} id="setup-title" size="h4">
            {m('setup.title')}
          </Title>
          <Button variant="subtle" size="xs" onClick={() => setOpen(!expanded)} aria-expanded={expanded}>
            {expanded ? m('setup.hide') : m('setup.show')}
          </Button>
        </Group>
        {c.ready ? (
          <Text c={OK_COLOR} size="sm" fw={500} data-testid="setup-ready">
            ✓ {m('setup.ready')}
          </Text>
        ) : (
          <Text size="sm" c="gray.8" data-testid="setup-not-ready">
            {m('setup.notReady')}
          </Text>
        )}
        {/* Folded, the details stay in the page (their state is still there for scripts and tests). */}
        <Collapse expanded={expanded}>{details}</Collapse>
      </Stack>
    </Paper>
  );
}
