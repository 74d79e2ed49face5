import {
  Alert,
  Button,
  Code,
  CopyButton,
  Group,
  NativeSelect,
  Stack,
  Switch,
  Text,
  Textarea,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { patch } from '../../api';
import { Failure, Loading } from '../../components/States';
import { useProject } from '../../session';
import { fieldUnder, type ProjectSettings, splitErrors, useRefresh, useSetAdminData, useSettings } from './adminApi';
import { useAdminMessages } from './messages';

/** The widget's allowed websites (CORS) and look, stored in the project settings (issue 5). */
function WidgetForm({
  initial,
  saved,
  onSaved,
}: {
  initial: ProjectSettings;
  saved: boolean;
  onSaved: (saved: boolean) => void;
}) {
  const m = useAdminMessages();
  const { base } = useProject();
  const setData = useSetAdminData();
  const refresh = useRefresh();
  const [origins, setOrigins] = useState(initial.widgetAllowedOrigins.join('\n'));
  const [color, setColor] = useState(initial.widget.color);
  const [greeting, setGreeting] = useState(initial.widget.greeting ?? '');
  const [position, setPosition] = useState(initial.widget.position);
  const [callbackForm, setCallbackForm] = useState(initial.widget.callbackForm);
  const save = useMutation({
    mutationFn: () =>
      patch<ProjectSettings>(`${base}/settings`, {
        widgetAllowedOrigins: origins
          .split(/[\s,]+/)
          .map((o) => o.trim())
          .filter(Boolean),
        widget: { color, greeting: greeting.trim() || null, position, callbackForm },
      }),
    onMutate: () => onSaved(false),
    onSuccess: (data) => {
      onSaved(true);
      setData('settings', data);
      refresh();
    },
  });
  const errors = splitErrors(save.error, fieldUnder());
  const originError = Object.entries(errors.fields).find(([k]) => k.startsWith('widgetAllowedOrigins'))?.[1];
  return (
    <Stack
      gap="sm"
      component="form"
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate();
      }}
    >
      <Textarea
        label={m('widget.origins')}
        value={origins}
        onChange={(e) => setOrigins(e.currentTarget.value)}
        autosize
        minRows={2}
        error={originError}
        data-testid="widget-origins"
      />
      <Group grow align="flex-start">
        <TextInput
          label={m('widget.color')}
          value={color}
          onChange={(e) => setColor(e.currentTarget.value)}
          error={errors.fields['widget.color']}
        />
        <NativeSelect
          label={m('widget.position')}
          value={position}
          onChange={(e) => setPosition(e.currentTarget.value as typeof position)}
          data={[
            { value: 'bottom-right', label: m('widget.right') },
            { value: 'bottom-left', label: m('widget.left') },
          ]}
        />
      </Group>
      <TextInput
        label={m('widget.greeting')}
        value={greeting}
        onChange={(e) => setGreeting(e.currentTarget.value)}
        error={errors.fields['widget.greeting']}
        maxLength={200}
      />
      <Switch
        label={m('widget.callbackForm')}
        checked={callbackForm}
        onChange={(e) => setCallbackForm(e.currentTarget.checked)}
      />
      {errors.form && (
        <Alert color="red" variant="light">
          {errors.form}
        </Alert>
      )}
      <Group>
        <Button type="submit" loading={save.isPending} data-testid="widget-save">
          {m('widget.save')}
        </Button>
        {saved && <Text size="sm">{m('widget.saved')}</Text>}
      </Group>
    </Stack>
  );
}

/** The project's public key, the install snippet, and the widget's settings. */
export function WidgetSection() {
  const m = useAdminMessages();
  const settings = useSettings();
  // Kept here: saving remounts the form with the server's answer.
  const [saved, setSaved] = useState(false);
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
      <WidgetForm key={JSON.stringify(settings.data)} initial={settings.data} saved={saved} onSaved={setSaved} />
    </Stack>
  );
}
