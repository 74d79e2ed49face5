import {
  Alert,
  Anchor,
  Badge,
  Button,
  Checkbox,
  Group,
  Modal,
  Paper,
  PasswordInput,
  Select,
  SimpleGrid,
  Stack,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { del, patch, post } from '../../api';
import { Empty, Failure, Loading } from '../../components/States';
import { useFormat } from '../../format';
import { useProject } from '../../session';
import {
  CHANNEL_TYPES,
  type Channel,
  type ChannelTest,
  type ChannelType,
  splitErrors,
  useChannels,
  useRefresh,
} from './adminApi';
import { type AdminMessageKey, useAdminMessages } from './messages';
import { OK_COLOR } from './contrast';

/**
 * Channels: one form per platform, a connection test, and the platform's own words when it refuses.
 * Credentials come back from the server masked (••••1234) and are only ever shown as such, as the
 * placeholder of an empty field: a secret typed here is sent, never displayed again.
 */

interface Field {
  key: string;
  secret?: boolean;
  optional?: boolean;
  kind?: 'number' | 'boolean';
}

const FIELDS: Record<ChannelType, Field[]> = {
  telegram: [{ key: 'botToken', secret: true }],
  viber: [{ key: 'authToken', secret: true }],
  messenger: [
    { key: 'pageId' },
    { key: 'pageAccessToken', secret: true },
    { key: 'appSecret', secret: true },
    { key: 'verifyToken', secret: true },
    { key: 'appId', optional: true },
  ],
  sms: [
    { key: 'host' },
    { key: 'port', kind: 'number' },
    { key: 'systemId' },
    { key: 'password', secret: true },
    { key: 'systemType', optional: true },
    { key: 'tls', kind: 'boolean', optional: true },
  ],
  'sms-http': [{ key: 'sendUrl' }, { key: 'secret', secret: true }],
};

/** `body.credentials.botToken` → `botToken`, `body.name` → `name`. */
const channelField = (f: string) =>
  f.startsWith('body.credentials.') ? f.split('.')[2] : f === 'body.name' || f === 'body.type' ? f.slice(5) : undefined;

type Values = Record<string, string | boolean>;

/** The credentials to send: typed values only (on an edit, an empty field keeps its stored value). */
function credentialsOf(type: ChannelType, values: Values): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of FIELDS[type]) {
    const v = values[f.key];
    if (f.kind === 'boolean') {
      if (typeof v === 'boolean') out[f.key] = v;
    } else if (typeof v === 'string' && v.trim() !== '') {
      out[f.key] = f.kind === 'number' && /^\d+$/.test(v.trim()) ? Number(v.trim()) : v;
    }
  }
  return out;
}

function CredentialFields({
  type,
  values,
  onChange,
  errors,
  masked,
}: {
  type: ChannelType;
  values: Values;
  onChange: (key: string, value: string | boolean) => void;
  errors: Record<string, string>;
  /** Editing: the server's masked values as placeholders; every field optional. */
  masked?: Record<string, unknown>;
}) {
  const m = useAdminMessages();
  return (
    <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="sm">
      {FIELDS[type].map((f) => {
        const label = m(`cred.${f.key}` as AdminMessageKey);
        const helpKey = `credHelp.${type}.${f.key}` as AdminMessageKey;
        const help = m(helpKey) === helpKey ? undefined : m(helpKey);
        const common = {
          label,
          description: help,
          error: errors[f.key],
          required: !masked && !f.optional,
          'data-testid': `cred-${f.key}`,
        };
        if (f.kind === 'boolean') {
          return (
            <Checkbox
              key={f.key}
              label={label}
              description={help}
              checked={values[f.key] === true}
              onChange={(e) => onChange(f.key, e.currentTarget.checked)}
              error={errors[f.key]}
              mt="lg"
            />
          );
        }
        const placeholder = masked && masked[f.key] !== undefined ? String(masked[f.key]) : undefined;
        const value = typeof values[f.key] === 'string' ? (values[f.key] as string) : '';
        return f.secret ? (
          <PasswordInput
            key={f.key}
            {...common}
            autoComplete="off"
            placeholder={placeholder}
            value={value}
            onChange={(e) => onChange(f.key, e.currentTarget.value)}
          />
        ) : (
          <TextInput
            key={f.key}
            {...common}
            autoComplete="off"
            inputMode={f.kind === 'number' ? 'numeric' : undefined}
            placeholder={placeholder}
            value={value}
            onChange={(e) => onChange(f.key, e.currentTarget.value)}
          />
        );
      })}
    </SimpleGrid>
  );
}

export function ChannelsSection() {
  const m = useAdminMessages();
  const channels = useChannels();
  const [adding, setAdding] = useState(false);
  if (channels.isPending) return <Loading />;
  if (channels.isError) return <Failure error={channels.error} onRetry={() => void channels.refetch()} />;
  const items = channels.data.items;
  return (
    <Stack gap="md">
      <Group justify="space-between">
        <Title order={3} size="h4">
          {m('channels.title')}
        </Title>
        {!adding && (
          <Button onClick={() => setAdding(true)} data-testid="channel-add">
            {m('channels.add')}
          </Button>
        )}
      </Group>
      {adding && <NewChannelForm onDone={() => setAdding(false)} />}
      {items.length === 0 ? (
        <Empty>{m('channels.none')}</Empty>
      ) : (
        items.map((c) => <ChannelCard key={c.id} channel={c} />)
      )}
    </Stack>
  );
}

function NewChannelForm({ onDone }: { onDone: () => void }) {
  const m = useAdminMessages();
  const { base } = useProject();
  const refresh = useRefresh();
  const [type, setType] = useState<ChannelType>('telegram');
  const [name, setName] = useState('');
  const [values, setValues] = useState<Values>({});
  const create = useMutation({
    mutationFn: () =>
      post<Channel>(`${base}/channels`, {
        type,
        ...(name.trim() ? { name } : {}),
        credentials: credentialsOf(type, values),
      }),
    onSuccess: () => {
      setValues({});
      refresh();
      onDone();
    },
  });
  const errors = splitErrors(create.error, channelField);
  return (
    <Paper
      withBorder
      p="md"
      component="form"
      aria-label={m('channels.add')}
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate();
      }}
    >
      <Stack gap="sm">
        <Group align="flex-start" gap="sm">
          <Select
            label={m('channels.type')}
            data={CHANNEL_TYPES.map((t) => ({ value: t, label: m(`type.${t}`) }))}
            value={type}
            allowDeselect={false}
            onChange={(v) => {
              if (!v) return;
              setType(v as ChannelType);
              setValues({});
              create.reset();
            }}
            error={errors.fields.type}
            w={240}
            data-testid="channel-type"
          />
          <TextInput
            label={m('channels.name')}
            description={m('channels.nameHelp')}
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            error={errors.fields.name}
            w={280}
          />
        </Group>
        <Text size="sm" c="gray.8">
          {m(`channels.help.${type}`)}
        </Text>
        <CredentialFields
          type={type}
          values={values}
          onChange={(k, v) => setValues((s) => ({ ...s, [k]: v }))}
          errors={errors.fields}
        />
        {errors.form && (
          <Alert color="red" role="alert" title={m('channels.refused')} data-testid="channel-error">
            {errors.form}
          </Alert>
        )}
        <Group gap="sm">
          <Button type="submit" loading={create.isPending} data-testid="channel-submit">
            {m('channels.connect')}
          </Button>
          <Button variant="default" onClick={onDone}>
            {m('cancel')}
          </Button>
        </Group>
      </Stack>
    </Paper>
  );
}

function ChannelCard({ channel: c }: { channel: Channel }) {
  const m = useAdminMessages();
  const { base } = useProject();
  const fmt = useFormat();
  const refresh = useRefresh();
  const [editing, setEditing] = useState(false);
  const [removing, setRemoving] = useState(false);
  const test = useMutation({
    mutationFn: () => post<ChannelTest>(`${base}/channels/${c.id}/test`, {}),
    onSettled: () => refresh(),
  });
  const toggle = useMutation({
    mutationFn: () => patch<Channel>(`${base}/channels/${c.id}`, { enabled: !c.enabled }),
    onSuccess: () => refresh(),
  });
  const remove = useMutation({
    mutationFn: () => del<{ platform: { message: string } | null }>(`${base}/channels/${c.id}`),
    onSuccess: () => {
      setRemoving(false);
      refresh();
    },
  });
  const last =
    test.data ??
    (c.config.lastTest && { ...c.config.lastTest, checkedAt: new Date(c.config.lastTest.at).toISOString() });
  const creds = Object.entries(c.credentials ?? {});
  const failure = test.error ?? toggle.error ?? remove.error;

  return (
    <Paper withBorder p="md" data-testid={`channel-${c.id}`} component="section" aria-label={c.name}>
      <Stack gap="xs">
        <Group justify="space-between" wrap="wrap">
          <Group gap="sm">
            <Title order={4} size="h5">
              {c.name}
            </Title>
            <Badge variant="outline" color="blue" c="blue.9">
              {m(`type.${c.type}`)}
            </Badge>
            {c.enabled ? (
              <Badge variant="outline" color="green" c={OK_COLOR}>
                {m('channels.active')}
              </Badge>
            ) : (
              <Badge variant="outline" color="gray" c="gray.8">
                {m('channels.paused')}
              </Badge>
            )}
          </Group>
          <Group gap="xs">
            <Button size="xs" onClick={() => test.mutate()} loading={test.isPending} data-testid="channel-test">
              {m('channels.test')}
            </Button>
            <Button size="xs" variant="default" onClick={() => setEditing(true)}>
              {m('channels.edit')}
            </Button>
            <Button size="xs" variant="default" onClick={() => toggle.mutate()} loading={toggle.isPending}>
              {c.enabled ? m('channels.pause') : m('channels.resume')}
            </Button>
            <Button size="xs" variant="default" color="red" onClick={() => setRemoving(true)}>
              {m('channels.remove')}
            </Button>
          </Group>
        </Group>
        {c.link && (
          <Text size="sm">
            {m('channels.link')}{' '}
            <Anchor href={c.link} target="_blank" rel="noopener noreferrer">
              {c.link}
            </Anchor>
          </Text>
        )}
        {c.webhookUrl && (
          <Text size="sm" c="gray.8" style={{ wordBreak: 'break-all' }}>
            {m('channels.webhook')} {c.webhookUrl}
          </Text>
        )}
        {c.credentialsUnreadable && (
          <Alert color="orange" role="alert">
            {m('channels.unreadable')}
          </Alert>
        )}
        {creds.length > 0 && (
          <Text size="sm" c="gray.8">
            {creds.map(([k, v]) => `${m(`cred.${k}` as AdminMessageKey)}: ${String(v)}`).join(' · ')}
          </Text>
        )}
        {last && (
          <Alert
            color={last.ok ? 'green' : 'red'}
            variant="light"
            role={test.data && !last.ok ? 'alert' : undefined}
            data-testid="channel-test-result"
            title={`${last.ok ? m('channels.testOk') : m('channels.testFailed')} · ${fmt.dateTime(last.checkedAt)}`}
          >
            <Text size="sm" c={last.ok ? OK_COLOR : 'red.9'}>
              {last.message}
            </Text>
          </Alert>
        )}
        {failure && (
          <Alert color="red" role="alert">
            {failure.message}
          </Alert>
        )}
        {remove.data?.platform && (
          <Text size="sm" c="gray.8">
            {remove.data.platform.message}
          </Text>
        )}
      </Stack>
      <EditChannel channel={c} opened={editing} onClose={() => setEditing(false)} />
      <Modal
        withinPortal={false}
        opened={removing}
        onClose={() => setRemoving(false)}
        title={m('channels.removeTitle', { name: c.name })}
      >
        <Stack>
          <Text size="sm">{m('channels.removeHelp')}</Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setRemoving(false)}>
              {m('cancel')}
            </Button>
            <Button color="red" onClick={() => remove.mutate()} loading={remove.isPending}>
              {m('channels.remove')}
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Paper>
  );
}

function EditChannel({ channel: c, opened, onClose }: { channel: Channel; opened: boolean; onClose: () => void }) {
  const m = useAdminMessages();
  const { base } = useProject();
  const refresh = useRefresh();
  const [name, setName] = useState(c.name);
  const [values, setValues] = useState<Values>({});
  const save = useMutation({
    mutationFn: () => {
      const credentials = credentialsOf(c.type, values);
      return patch<Channel>(`${base}/channels/${c.id}`, {
        ...(name.trim() && name !== c.name ? { name } : {}),
        ...(Object.keys(credentials).length ? { credentials } : {}),
      });
    },
    onSuccess: () => {
      setValues({});
      refresh();
      onClose();
    },
  });
  const errors = splitErrors(save.error, channelField);
  return (
    <Modal
      withinPortal={false}
      opened={opened}
      onClose={onClose}
      title={m('channels.editTitle', { name: c.name })}
      size="lg"
    >
      <form
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <Stack gap="sm">
          <TextInput
            label={m('channels.name')}
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            error={errors.fields.name}
          />
          <Text size="sm" c="gray.8">
            {m('channels.rotateHelp')}
          </Text>
          <CredentialFields
            type={c.type}
            values={values}
            onChange={(k, v) => setValues((s) => ({ ...s, [k]: v }))}
            errors={errors.fields}
            masked={c.credentials ?? {}}
          />
          {errors.form && (
            <Alert color="red" role="alert" title={m('channels.refused')}>
              {errors.form}
            </Alert>
          )}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              {m('cancel')}
            </Button>
            <Button type="submit" loading={save.isPending}>
              {m('save')}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
