import {
  Alert,
  Badge,
  Button,
  Checkbox,
  Code,
  Group,
  Paper,
  Stack,
  Switch,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { del, get, patch, post } from '../../api';
import { Empty, Failure, Loading } from '../../components/States';
import { defineMessages, useMessages } from '../../i18n';
import { useProject } from '../../session';

/**
 * Outgoing webhooks (issue 7 §2, docs/WEBHOOKS.md): the project's endpoints with their pause state,
 * adding one (its signing secret shown once), and each endpoint's delivery log with redeliver.
 */

const EVENTS = ['dialog.opened', 'dialog.closed', 'message.created', 'message.status'] as const;
type EventType = (typeof EVENTS)[number];

interface Webhook {
  id: number;
  url: string;
  events: EventType[];
  enabled: boolean;
  paused: boolean;
  pausedAt: string | null;
  pauseReason: string | null;
  consecutiveFailures: number;
  createdAt: string;
}
interface Delivery {
  id: number;
  uid: string;
  type: string;
  dialogId: number | null;
  status: 'pending' | 'delivered' | 'failed' | 'dead';
  attempts: number;
  responseStatus: number | null;
  error: string | null;
  createdAt: string;
}

const MESSAGES = defineMessages({
  pl: {
    title: 'Webhooki wychodzące',
    intro: 'Dziennik wysyła podpisane zdarzenia JSON na te adresy (docs/WEBHOOKS.md).',
    url: 'Adres URL',
    events: 'Zdarzenia',
    add: 'Dodaj webhook',
    secret: 'Sekret do weryfikacji podpisu — pokazany tylko teraz, skopiuj go:',
    enabled: 'Włączony',
    paused: 'Wstrzymany',
    active: 'Aktywny',
    remove: 'Usuń',
    log: 'Dziennik dostaw',
    hideLog: 'Ukryj dziennik',
    redeliver: 'Wyślij ponownie',
    none: 'Brak webhooków.',
    noDeliveries: 'Brak dostaw.',
    status: 'Status',
    response: 'Odpowiedź',
    attempts: 'Próby',
    type: 'Typ',
    at: 'Utworzono',
  },
  en: {
    title: 'Outgoing webhooks',
    intro: 'Dziennik sends signed JSON events to these URLs (docs/WEBHOOKS.md).',
    url: 'URL',
    events: 'Events',
    add: 'Add webhook',
    secret: 'Signing secret — shown only now, copy it:',
    enabled: 'Enabled',
    paused: 'Paused',
    active: 'Active',
    remove: 'Remove',
    log: 'Delivery log',
    hideLog: 'Hide log',
    redeliver: 'Redeliver',
    none: 'No webhooks.',
    noDeliveries: 'No deliveries.',
    status: 'Status',
    response: 'Response',
    attempts: 'Attempts',
    type: 'Type',
    at: 'Created',
  },
  uk: {
    title: 'Вихідні вебхуки',
    intro: 'Dziennik надсилає підписані JSON-події на ці адреси (docs/WEBHOOKS.md).',
    url: 'URL-адреса',
    events: 'Події',
    add: 'Додати вебхук',
    secret: 'Секрет для перевірки підпису — показаний лише зараз, скопіюйте його:',
    enabled: 'Увімкнено',
    paused: 'Призупинено',
    active: 'Активний',
    remove: 'Видалити',
    log: 'Журнал доставок',
    hideLog: 'Сховати журнал',
    redeliver: 'Надіслати знову',
    none: 'Вебхуків немає.',
    noDeliveries: 'Доставок немає.',
    status: 'Статус',
    response: 'Відповідь',
    attempts: 'Спроби',
    type: 'Тип',
    at: 'Створено',
  },
});

export function WebhooksSection() {
  const m = useMessages(MESSAGES);
  const { project, base } = useProject();
  const qc = useQueryClient();
  const key = ['p', project.id, 'admin', 'webhooks'];
  const list = useQuery({
    queryKey: key,
    queryFn: ({ signal }) => get<{ items: Webhook[] }>(`${base}/webhooks`, signal),
  });
  const refresh = () => void qc.invalidateQueries({ queryKey: key });
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<string[]>(['dialog.opened', 'dialog.closed']);
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<number | null>(null);
  const create = useMutation({
    mutationFn: () => post<Webhook & { secret: string }>(`${base}/webhooks`, { url, events }),
    onMutate: () => setError(null),
    onError: (e) => setError(e.message),
    onSuccess: (w) => {
      setSecret(w.secret);
      setUrl('');
      refresh();
    },
  });
  const toggle = useMutation({
    mutationFn: (v: { id: number; enabled: boolean }) =>
      patch<Webhook>(`${base}/webhooks/${v.id}`, { enabled: v.enabled }),
    onError: (e) => setError(e.message),
    onSuccess: refresh,
  });
  const remove = useMutation({
    mutationFn: (id: number) => del<void>(`${base}/webhooks/${id}`),
    onError: (e) => setError(e.message),
    onSuccess: refresh,
  });

  return (
    <Stack gap="md" data-testid="admin-webhooks">
      <Title order={3}>{m('title')}</Title>
      <Text size="sm">{m('intro')}</Text>
      {error && <Alert color="red">{error}</Alert>}
      {secret && (
        <Alert color="yellow" withCloseButton onClose={() => setSecret(null)}>
          {m('secret')} <Code data-testid="webhook-secret">{secret}</Code>
        </Alert>
      )}
      <Paper withBorder p="md">
        <Stack gap="sm">
          <TextInput
            label={m('url')}
            value={url}
            onChange={(e) => setUrl(e.currentTarget.value)}
            placeholder="https://"
          />
          <Checkbox.Group label={m('events')} value={events} onChange={setEvents}>
            <Group mt="xs">
              {EVENTS.map((e) => (
                <Checkbox key={e} value={e} label={e} />
              ))}
            </Group>
          </Checkbox.Group>
          <Group>
            <Button onClick={() => create.mutate()} loading={create.isPending} disabled={!url || events.length === 0}>
              {m('add')}
            </Button>
          </Group>
        </Stack>
      </Paper>
      {list.isPending ? (
        <Loading />
      ) : list.isError ? (
        <Failure error={list.error} onRetry={() => void list.refetch()} />
      ) : list.data.items.length === 0 ? (
        <Empty>{m('none')}</Empty>
      ) : (
        list.data.items.map((w) => (
          <Paper key={w.id} withBorder p="md">
            <Stack gap="xs">
              <Group justify="space-between">
                <Text fw={600} style={{ wordBreak: 'break-all' }}>
                  {w.url}
                </Text>
                {w.paused ? <Badge color="red">{m('paused')}</Badge> : <Badge color="green">{m('active')}</Badge>}
              </Group>
              {w.paused && w.pauseReason && (
                <Alert color="red" p="xs">
                  {w.pauseReason}
                </Alert>
              )}
              <Text size="sm">{w.events.join(', ')}</Text>
              <Group>
                <Switch
                  label={m('enabled')}
                  checked={w.enabled && !w.paused}
                  onChange={(e) => toggle.mutate({ id: w.id, enabled: e.currentTarget.checked })}
                />
                <Button variant="light" size="xs" onClick={() => setOpen(open === w.id ? null : w.id)}>
                  {open === w.id ? m('hideLog') : m('log')}
                </Button>
                <Button variant="subtle" color="red" size="xs" onClick={() => remove.mutate(w.id)}>
                  {m('remove')}
                </Button>
              </Group>
              {open === w.id && <DeliveryLog webhookId={w.id} onError={setError} />}
            </Stack>
          </Paper>
        ))
      )}
    </Stack>
  );
}

function DeliveryLog({ webhookId, onError }: { webhookId: number; onError: (e: string) => void }) {
  const m = useMessages(MESSAGES);
  const { project, base } = useProject();
  const qc = useQueryClient();
  const key = ['p', project.id, 'admin', 'webhooks', webhookId, 'deliveries'];
  const log = useQuery({
    queryKey: key,
    queryFn: ({ signal }) => get<{ items: Delivery[] }>(`${base}/webhooks/${webhookId}/deliveries?limit=50`, signal),
  });
  const again = useMutation({
    mutationFn: (id: number) => post<Delivery>(`${base}/webhooks/${webhookId}/deliveries/${id}/redeliver`),
    onError: (e) => onError(e.message),
    onSuccess: () => void qc.invalidateQueries({ queryKey: key }),
  });
  if (log.isPending) return <Loading />;
  if (log.isError) return <Failure error={log.error} onRetry={() => void log.refetch()} />;
  if (log.data.items.length === 0) return <Empty>{m('noDeliveries')}</Empty>;
  return (
    <Table striped>
      <Table.Thead>
        <Table.Tr>
          <Table.Th>{m('at')}</Table.Th>
          <Table.Th>{m('type')}</Table.Th>
          <Table.Th>{m('status')}</Table.Th>
          <Table.Th>{m('response')}</Table.Th>
          <Table.Th>{m('attempts')}</Table.Th>
          <Table.Th />
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {log.data.items.map((d) => (
          <Table.Tr key={d.id}>
            <Table.Td>{new Date(d.createdAt).toLocaleString()}</Table.Td>
            <Table.Td>{d.type}</Table.Td>
            <Table.Td>{d.status}</Table.Td>
            <Table.Td>{d.responseStatus ?? d.error ?? '—'}</Table.Td>
            <Table.Td>{d.attempts}</Table.Td>
            <Table.Td>
              {d.status !== 'pending' && (
                <Button size="xs" variant="light" onClick={() => again.mutate(d.id)}>
                  {m('redeliver')}
                </Button>
              )}
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}
