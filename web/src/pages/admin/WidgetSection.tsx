import { Alert, Button, Code, CopyButton, Group, Stack, Text, Title } from '@mantine/core';
import { Failure, Loading } from '../../components/States';
import { useSettings } from './adminApi';
import { useAdminMessages } from './messages';

/**
 * The website widget arrives with issue 5; until then this section shows the project's public key
 * and the install snippet, so that it can already be placed on the website.
 */
export function WidgetSection() {
  const m = useAdminMessages();
  const settings = useSettings();
  if (settings.isPending) return <Loading />;
  if (settings.isError) return <Failure error={settings.error} onRetry={() => void settings.refetch()} />;
  const key = settings.data.publicKey;
  const snippet = `<script async src="${window.location.origin}/widget.js" data-key="${key}"></script>`;
  return (
    <Stack gap="md">
      <Title order={3} size="h4">
        {m('widget.title')}
      </Title>
      <Alert color="blue" variant="light">
        <Text size="sm">{m('widget.coming')}</Text>
      </Alert>
      <Stack gap={4}>
        <Text fw={500}>{m('widget.key')}</Text>
        <Code data-testid="widget-key">{key}</Code>
      </Stack>
      <Stack gap={4}>
        <Text fw={500}>{m('widget.snippet')}</Text>
        <Text size="sm" c="gray.8">
          {m('widget.snippetHelp')}
        </Text>
        <Code block data-testid="widget-snippet">
          {snippet}
        </Code>
        <Group>
          <CopyButton value={snippet}>
            {({ copied, copy }) => (
              <Button variant={copied ? 'filled' : 'default'} onClick={copy}>
                {copied ? m('copied') : m('copy')}
              </Button>
            )}
          </CopyButton>
        </Group>
      </Stack>
    </Stack>
  );
}
