import { ActionIcon, Box, Group, Kbd, Popover, Text, Title } from '@mantine/core';
import type { ReactNode } from 'react';
import { useWorkspaceMessages } from './messages';

/** The "?" button and its list of keyboard shortcuts. */
export function ShortcutsHelp({ opened, onChange }: { opened: boolean; onChange: (o: boolean) => void }) {
  const m = useWorkspaceMessages();
  const rows: [ReactNode, string][] = [
    [<Kbd key="j">j</Kbd>, m('help.next')],
    [<Kbd key="k">k</Kbd>, m('help.prev')],
    [
      <Group key="q" gap={2} wrap="nowrap">
        <Kbd>1</Kbd>
        <Kbd>2</Kbd>
        <Kbd>3</Kbd>
      </Group>,
      m('help.queues'),
    ],
    [<Kbd key="t">t</Kbd>, m('help.take')],
    [<Kbd key="e">e</Kbd>, m('help.close')],
    [<Kbd key="r">r</Kbd>, m('help.reply')],
    [<Kbd key="enter">Enter</Kbd>, m('help.send')],
    [
      <Group key="ctrl" gap={2} wrap="nowrap">
        <Kbd>Ctrl</Kbd>+<Kbd>Enter</Kbd>
      </Group>,
      m('help.send'),
    ],
    [
      <Group key="shift" gap={2} wrap="nowrap">
        <Kbd>Shift</Kbd>+<Kbd>Enter</Kbd>
      </Group>,
      m('help.newline'),
    ],
    [<Kbd key="esc">Esc</Kbd>, m('help.escape')],
    [<Kbd key="?">?</Kbd>, m('help.help')],
  ];
  return (
    <Popover opened={opened} onChange={onChange} position="bottom-end" withArrow shadow="md" trapFocus={false}>
      <Popover.Target>
        <ActionIcon
          variant="subtle"
          color="gray.8"
          aria-label={m('help.open')}
          aria-expanded={opened}
          onClick={() => onChange(!opened)}
          data-testid="shortcuts-help"
        >
          <Text fw={700} size="sm" aria-hidden="true">
            ?
          </Text>
        </ActionIcon>
      </Popover.Target>
      <Popover.Dropdown>
        <Title order={3} size="h6" mb={6}>
          {m('help.title')}
        </Title>
        <Box component="table" role="presentation" style={{ borderCollapse: 'collapse' }}>
          <tbody>
            {rows.map(([keys, what]) => (
              <tr key={what + String((keys as { key?: string }).key)}>
                <td style={{ padding: '2px 12px 2px 0', whiteSpace: 'nowrap' }}>{keys}</td>
                <td style={{ padding: '2px 0' }}>
                  <Text size="sm">{what}</Text>
                </td>
              </tr>
            ))}
          </tbody>
        </Box>
      </Popover.Dropdown>
    </Popover>
  );
}
