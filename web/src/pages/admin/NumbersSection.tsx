import {
  Alert,
  Anchor,
  Badge,
  Button,
  Group,
  Paper,
  Select,
  Stack,
  Switch,
  Table,
  Text,
  TextInput,
  Title,
  Tooltip,
  VisuallyHidden,
} from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { del, patch, post } from '../../api';
import { Empty, Failure, Loading } from '../../components/States';
import { useProject } from '../../session';
import {
  fieldUnder,
  type PhoneNumber,
  type Section,
  splitErrors,
  useChannels,
  useNumbers,
  useRefresh,
  useSetAdminData,
} from './adminApi';
import { useAdminMessages } from './messages';
import { WARN_COLOR } from './contrast';

/**
 * Numbers of the SMS channels (R6): the SMS switch per number, and the outbound-only badge for a
 * number in the outbound-only range (it sends as "SMS"; the client cannot reply).
 */
export function NumbersSection({ hrefOf }: { hrefOf: (s: Section) => string }) {
  const m = useAdminMessages();
  const { base } = useProject();
  const numbers = useNumbers();
  const channels = useChannels();
  const refresh = useRefresh();
  const [error, setError] = useState<string | null>(null);
  const setData = useSetAdminData();
  const update = useMutation({
    mutationFn: (v: { id: number; smsEnabled: boolean; before: { items: PhoneNumber[] } }) =>
      patch<PhoneNumber>(`${base}/numbers/${v.id}`, { smsEnabled: v.smsEnabled }),
    onMutate: () => setError(null),
    onError: (e, v) => {
      setError(e.message);
      setData('numbers', { ...v.before });
    },
    onSuccess: (n) => {
      const now = numbers.data;
      if (now) setData('numbers', { items: now.items.map((x) => (x.id === n.id ? n : x)) });
    },
    onSettled: () => refresh(),
  });
  // The switch moves at once (local state, as in ServicesSection); every answer of the server
  // replaces it, so a refusal puts it back.
  const [shownSms, setShownSms] = useState<Record<number, boolean>>({});
  const [seen, setSeen] = useState(numbers.data);
  if (seen !== numbers.data) {
    setSeen(numbers.data);
    setShownSms({});
  }
  const toggleSms = (n: PhoneNumber, smsEnabled: boolean) => {
    const before = numbers.data;
    if (!before) return;
    setShownSms((s) => ({ ...s, [n.id]: smsEnabled }));
    update.mutate({ id: n.id, smsEnabled, before });
  };
  const remove = useMutation({
    mutationFn: (id: number) => del(`${base}/numbers/${id}`),
    onMutate: () => setError(null),
    onError: (e) => setError(e.message),
    onSuccess: () => refresh(),
  });

  if (numbers.isPending || channels.isPending) return <Loading />;
  if (numbers.isError) return <Failure error={numbers.error} onRetry={() => void numbers.refetch()} />;
  if (channels.isError) return <Failure error={channels.error} onRetry={() => void channels.refetch()} />;
  const smsChannels = channels.data.items.filter(
    (c) => (c.type === 'sms' || c.type === 'sms-http') && c.status !== 'removed',
  );
  const channelName = (id: number) => channels.data.items.find((c) => c.id === id)?.name ?? `#${id}`;
  const items = numbers.data.items;

  return (
    <Stack gap="md">
      <Title order={3} size="h4">
        {m('numbers.title')}
      </Title>
      {smsChannels.length === 0 ? (
        <Alert color="blue" variant="light">
          <Text size="sm">
            {m('numbers.noChannel')}{' '}
            <Anchor component={Link} to={hrefOf('channels')} size="sm" fw={500}>
              {m('numbers.toChannels')}
            </Anchor>
          </Text>
        </Alert>
      ) : (
        <AddNumber channels={smsChannels.map((c) => ({ value: String(c.id), label: c.name }))} />
      )}
      {error && (
        <Alert color="red" role="alert">
          {error}
        </Alert>
      )}
      {items.length === 0 ? (
        <Empty>{m('numbers.none')}</Empty>
      ) : (
        <Table.ScrollContainer minWidth={640}>
          <Table verticalSpacing="xs" striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{m('numbers.number')}</Table.Th>
                <Table.Th>{m('numbers.channel')}</Table.Th>
                <Table.Th>{m('numbers.sms')}</Table.Th>
                <Table.Th>{m('numbers.sender')}</Table.Th>
                <Table.Th>
                  <VisuallyHidden>{m('users.actions')}</VisuallyHidden>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((n) => (
                <Table.Tr key={n.id} data-testid={`number-${n.e164}`}>
                  <Table.Td>
                    <Group gap="xs">
                      <Text component="span" ff="monospace">
                        {n.e164}
                      </Text>
                      {n.outboundOnly && (
                        <Tooltip label={m('numbers.outboundOnlyHelp')} multiline w={280}>
                          <Badge variant="outline" color="orange" c={WARN_COLOR} data-testid="outbound-only">
                            {m('numbers.outboundOnly')}
                          </Badge>
                        </Tooltip>
                      )}
                    </Group>
                  </Table.Td>
                  <Table.Td>{channelName(n.channelId)}</Table.Td>
                  <Table.Td>
                    <Switch
                      checked={shownSms[n.id] ?? n.smsEnabled}
                      aria-label={m('numbers.smsFor', { number: n.e164 })}
                      onChange={(e) => toggleSms(n, e.currentTarget.checked)}
                    />
                  </Table.Td>
                  <Table.Td>
                    {n.senderLabel}
                    {!n.canReply && (
                      <Text component="span" size="sm" c="gray.8" ml={6}>
                        ({m('numbers.noReplies')})
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td>
                    <Button
                      size="xs"
                      variant="default"
                      onClick={() => remove.mutate(n.id)}
                      loading={remove.isPending && remove.variables === n.id}
                    >
                      {m('numbers.remove')}
                    </Button>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <Text size="sm" c="gray.8">
        {m('numbers.prefixesHelp')}
      </Text>
    </Stack>
  );
}

function AddNumber({ channels }: { channels: { value: string; label: string }[] }) {
  const m = useAdminMessages();
  const { base } = useProject();
  const refresh = useRefresh();
  const [e164, setE164] = useState('');
  const [channelId, setChannelId] = useState<string | null>(channels[0]?.value ?? null);
  const [smsEnabled, setSmsEnabled] = useState(true);
  const add = useMutation({
    mutationFn: () => post<PhoneNumber>(`${base}/numbers`, { e164, channelId: Number(channelId), smsEnabled }),
    onSuccess: () => {
      setE164('');
      refresh();
    },
  });
  const errors = splitErrors(add.error, fieldUnder());
  return (
    <Paper
      withBorder
      p="md"
      component="form"
      aria-label={m('numbers.add')}
      onSubmit={(e) => {
        e.preventDefault();
        add.mutate();
      }}
    >
      <Stack gap="sm">
        <Group align="flex-start" gap="sm">
          <TextInput
            label={m('numbers.number')}
            description={m('numbers.numberHelp')}
            placeholder="+48 601 234 567"
            required
            value={e164}
            onChange={(e) => setE164(e.currentTarget.value)}
            error={errors.fields.e164}
            w={240}
            data-testid="number-e164"
          />
          <Select
            label={m('numbers.channel')}
            description={m('numbers.channelHelp')}
            data={channels}
            value={channelId}
            onChange={setChannelId}
            allowDeselect={false}
            error={errors.fields.channelId}
            w={240}
          />
          <Switch
            label={m('numbers.sms')}
            checked={smsEnabled}
            onChange={(e) => setSmsEnabled(e.currentTarget.checked)}
            mt={46}
          />
          <Button type="submit" loading={add.isPending} mt={44} data-testid="number-submit">
            {m('numbers.add')}
          </Button>
        </Group>
        {errors.form && (
          <Alert color="red" role="alert">
            {errors.form}
          </Alert>
        )}
      </Stack>
    </Paper>
  );
}
