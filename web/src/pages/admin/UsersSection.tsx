import {
  Alert,
  Badge,
  Button,
  CopyButton,
  Group,
  Paper,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
  VisuallyHidden,
} from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { del, patch, post, type Role } from '../../api';
import { Empty, Failure, Loading } from '../../components/States';
import { useFormat } from '../../format';
import { useProject } from '../../session';
import {
  type AdminMember,
  type CreatedInvite,
  fieldUnder,
  splitErrors,
  useInvites,
  useMembers,
  useRefresh,
  useSetAdminData,
} from './adminApi';
import { useAdminMessages } from './messages';
import { OK_COLOR } from './contrast';

const ROLES: readonly Role[] = ['manager', 'supervisor', 'admin'];

/** Members (role, disable), invitations by link, and the open invitations. */
export function UsersSection() {
  const m = useAdminMessages();
  return (
    <Stack gap="lg">
      <MemberList />
      <InviteForm />
      <InviteList />
      <Text size="sm" c="gray.8">
        {m('users.rolesHelp')}
      </Text>
    </Stack>
  );
}

function useRoleOptions() {
  const m = useAdminMessages();
  return ROLES.map((r) => ({ value: r, label: m(`role.${r}`) }));
}

function MemberList() {
  const m = useAdminMessages();
  const { base, me } = useProject();
  const members = useMembers();
  const refresh = useRefresh();
  const setData = useSetAdminData();
  const roles = useRoleOptions();
  const [error, setError] = useState<string | null>(null);
  const change = useMutation({
    mutationFn: (v: { id: number; body: { role?: Role; disabled?: boolean } }) =>
      patch<AdminMember>(`${base}/users/${v.id}`, v.body),
    onMutate: () => setError(null),
    onError: (e) => setError(e.message),
    onSuccess: (updated) => {
      if (members.data) {
        setData('members', { items: members.data.items.map((u) => (u.id === updated.id ? updated : u)) });
      }
      refresh({ me: true });
    },
  });

  if (members.isPending) return <Loading />;
  if (members.isError) return <Failure error={members.error} onRetry={() => void members.refetch()} />;
  const items = members.data.items;
  return (
    <Stack gap="xs" component="section" aria-labelledby="members-title">
      <Title order={3} size="h4" id="members-title">
        {m('users.members')}
      </Title>
      {error && (
        <Alert color="red" role="alert" withCloseButton onClose={() => setError(null)} closeButtonLabel={m('close')}>
          {error}
        </Alert>
      )}
      {items.length === 0 ? (
        <Empty>{m('users.none')}</Empty>
      ) : (
        <Table.ScrollContainer minWidth={640}>
          <Table verticalSpacing="xs" striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{m('users.name')}</Table.Th>
                <Table.Th>{m('users.email')}</Table.Th>
                <Table.Th>{m('users.role')}</Table.Th>
                <Table.Th>{m('users.status')}</Table.Th>
                <Table.Th>
                  <VisuallyHidden>{m('users.actions')}</VisuallyHidden>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((u) => (
                <Table.Tr key={u.id} data-testid={`member-${u.email}`}>
                  <Table.Td>
                    {u.name}
                    {u.id === me.user.id && (
                      <Text component="span" size="sm" c="gray.8" ml={6}>
                        ({m('users.you')})
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td>{u.email}</Table.Td>
                  <Table.Td>
                    <Select
                      aria-label={m('users.roleOf', { name: u.name })}
                      size="xs"
                      w={160}
                      data={roles}
                      value={u.role}
                      allowDeselect={false}
                      disabled={change.isPending}
                      onChange={(v) => v && v !== u.role && change.mutate({ id: u.id, body: { role: v as Role } })}
                    />
                  </Table.Td>
                  <Table.Td>
                    {u.disabled ? (
                      <Badge color="gray" variant="outline" c="gray.8">
                        {m('users.disabled')}
                      </Badge>
                    ) : u.accountDisabled ? (
                      <Badge color="gray" variant="outline" c="gray.8">
                        {m('users.accountDisabled')}
                      </Badge>
                    ) : (
                      <Badge color="green" variant="outline" c={OK_COLOR}>
                        {m('users.active')}
                      </Badge>
                    )}
                  </Table.Td>
                  <Table.Td>
                    <Button
                      size="xs"
                      variant="default"
                      disabled={change.isPending}
                      onClick={() => change.mutate({ id: u.id, body: { disabled: !u.disabled } })}
                    >
                      {u.disabled ? m('users.enable') : m('users.disable')}
                    </Button>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </Stack>
  );
}

function InviteForm() {
  const m = useAdminMessages();
  const { base } = useProject();
  const refresh = useRefresh();
  const roles = useRoleOptions();
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('manager');
  const [created, setCreated] = useState<CreatedInvite | null>(null);
  const invite = useMutation({
    mutationFn: () => post<CreatedInvite>(`${base}/users/invites`, { email, role, ...(name.trim() ? { name } : {}) }),
    onSuccess: (c) => {
      setCreated(c);
      setEmail('');
      setName('');
      refresh();
    },
  });
  const errors = splitErrors(invite.error, fieldUnder());
  // The link on the address this admin uses the app at (PUBLIC_URL may be the platforms' address).
  const link = created ? `${window.location.origin}/invite/${created.token}` : '';

  return (
    <Paper withBorder p="md" component="section" aria-labelledby="invite-title">
      <Stack gap="sm">
        <Title order={3} size="h4" id="invite-title">
          {m('invite.title')}
        </Title>
        <Text size="sm" c="gray.8">
          {m('invite.help')}
        </Text>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setCreated(null);
            invite.mutate();
          }}
        >
          <Group align="flex-start" gap="sm">
            <TextInput
              label={m('invite.email')}
              type="email"
              required
              value={email}
              onChange={(e) => setEmail(e.currentTarget.value)}
              error={errors.fields.email}
              w={260}
              data-testid="invite-email"
            />
            <TextInput
              label={m('invite.name')}
              value={name}
              onChange={(e) => setName(e.currentTarget.value)}
              error={errors.fields.name}
              w={220}
            />
            <Select
              label={m('invite.role')}
              data={roles}
              value={role}
              allowDeselect={false}
              onChange={(v) => v && setRole(v as Role)}
              error={errors.fields.role}
              w={180}
              data-testid="invite-role"
            />
            <Button type="submit" mt={25} loading={invite.isPending}>
              {m('invite.submit')}
            </Button>
          </Group>
        </form>
        {errors.form && (
          <Alert color="red" role="alert">
            {errors.form}
          </Alert>
        )}
        {created && (
          <Alert color="green" variant="light" title={m('invite.created', { email: created.email })}>
            <Stack gap="xs">
              <Group gap="xs" wrap="nowrap">
                <TextInput
                  aria-label={m('invite.link')}
                  readOnly
                  value={link}
                  onFocus={(e) => e.currentTarget.select()}
                  style={{ flex: 1 }}
                  data-testid="invite-link"
                />
                <CopyButton value={link}>
                  {({ copied, copy }) => (
                    <Button variant={copied ? 'filled' : 'default'} onClick={copy}>
                      {copied ? m('copied') : m('copy')}
                    </Button>
                  )}
                </CopyButton>
              </Group>
              <Text size="sm">{m('invite.once')}</Text>
            </Stack>
          </Alert>
        )}
      </Stack>
    </Paper>
  );
}

function InviteList() {
  const m = useAdminMessages();
  const { base } = useProject();
  const fmt = useFormat();
  const invites = useInvites();
  const refresh = useRefresh();
  const revoke = useMutation({
    mutationFn: (id: number) => del(`${base}/users/invites/${id}`),
    onSuccess: () => refresh(),
  });
  if (invites.isPending) return <Loading />;
  if (invites.isError) return <Failure error={invites.error} onRetry={() => void invites.refetch()} />;
  const items = invites.data.items;
  return (
    <Stack gap="xs" component="section" aria-labelledby="invites-title">
      <Title order={3} size="h4" id="invites-title">
        {m('invite.open')}
      </Title>
      {revoke.error && (
        <Alert color="red" role="alert">
          {revoke.error.message}
        </Alert>
      )}
      {items.length === 0 ? (
        <Text size="sm" c="gray.8">
          {m('invite.noneOpen')}
        </Text>
      ) : (
        <Table.ScrollContainer minWidth={560}>
          <Table verticalSpacing="xs">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{m('users.email')}</Table.Th>
                <Table.Th>{m('users.role')}</Table.Th>
                <Table.Th>{m('invite.expires')}</Table.Th>
                <Table.Th>
                  <VisuallyHidden>{m('users.actions')}</VisuallyHidden>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((i) => (
                <Table.Tr key={i.id}>
                  <Table.Td>{i.email}</Table.Td>
                  <Table.Td>{m(`role.${i.role}`)}</Table.Td>
                  <Table.Td>
                    {i.status === 'expired' ? (
                      <Text component="span" c="red.9" size="sm">
                        {m('invite.expired')}
                      </Text>
                    ) : (
                      fmt.dateTime(i.expiresAt)
                    )}
                  </Table.Td>
                  <Table.Td>
                    {i.status === 'pending' && (
                      <Button
                        size="xs"
                        variant="default"
                        onClick={() => revoke.mutate(i.id)}
                        loading={revoke.isPending}
                      >
                        {m('invite.revoke')}
                      </Button>
                    )}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </Stack>
  );
}
