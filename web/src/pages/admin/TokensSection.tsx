import {
  Alert,
  Badge,
  Button,
  CopyButton,
  Group,
  Modal,
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
import { del, post, type Role } from '../../api';
import { Empty, Failure, Loading } from '../../components/States';
import { useFormat } from '../../format';
import { useProject } from '../../session';
import { type ApiToken, type CreatedApiToken, fieldUnder, splitErrors, useApiTokens, useRefresh } from './adminApi';
import { OK_COLOR } from './contrast';
import { useAdminMessages } from './messages';

const ROLES: readonly Role[] = ['manager', 'supervisor', 'admin'];

/**
 * API tokens (SPEC §4.9): create one with a role (the token is shown once, with a copy button),
 * the project's tokens with their last use, and revoking one after a confirmation.
 */
export function TokensSection() {
  const m = useAdminMessages();
  return (
    <Stack gap="lg" data-testid="admin-tokens">
      <Stack gap={4}>
        <Title order={3}>{m('tokens.title')}</Title>
        <Text size="sm" c="gray.8">
          {m('tokens.help')}
        </Text>
      </Stack>
      <CreateToken />
      <TokenList />
    </Stack>
  );
}

function CreateToken() {
  const m = useAdminMessages();
  const { base } = useProject();
  const refresh = useRefresh();
  const roles = ROLES.map((r) => ({ value: r, label: m(`role.${r}`) }));
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('manager');
  const [created, setCreated] = useState<CreatedApiToken | null>(null);
  const create = useMutation({
    mutationFn: () => post<CreatedApiToken>(`${base}/tokens`, { name, role }),
    onSuccess: (t) => {
      setCreated(t);
      setName('');
      refresh();
    },
  });
  const errors = splitErrors(create.error, fieldUnder());
  return (
    <Paper withBorder p="md" component="section" aria-labelledby="token-create-title">
      <Stack gap="sm">
        <Title order={4} id="token-create-title">
          {m('tokens.create')}
        </Title>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setCreated(null);
            create.mutate();
          }}
        >
          <Group align="flex-start" gap="sm">
            <TextInput
              label={m('tokens.name')}
              required
              maxLength={100}
              value={name}
              onChange={(e) => setName(e.currentTarget.value)}
              error={errors.fields.name}
              w={280}
              data-testid="token-name"
            />
            <Select
              label={m('tokens.role')}
              data={roles}
              value={role}
              allowDeselect={false}
              onChange={(v) => v && setRole(v as Role)}
              error={errors.fields.role}
              w={180}
              data-testid="token-role"
            />
            <Button type="submit" mt={25} loading={create.isPending} data-testid="token-submit">
              {m('tokens.submit')}
            </Button>
          </Group>
        </form>
        {errors.form && (
          <Alert color="red" role="alert">
            {errors.form}
          </Alert>
        )}
        {created && (
          <Alert
            color="orange"
            variant="light"
            title={m('tokens.created', { name: created.name })}
            withCloseButton
            onClose={() => setCreated(null)}
            closeButtonLabel={m('close')}
            data-testid="token-created"
          >
            <Stack gap="xs">
              <Group gap="xs" wrap="nowrap">
                <TextInput
                  aria-label={m('tokens.token')}
                  readOnly
                  value={created.token}
                  onFocus={(e) => e.currentTarget.select()}
                  style={{ flex: 1 }}
                  data-testid="token-value"
                />
                <CopyButton value={created.token}>
                  {({ copied, copy }) => (
                    <Button variant={copied ? 'filled' : 'default'} onClick={copy} data-testid="token-copy">
                      {copied ? m('copied') : m('copy')}
                    </Button>
                  )}
                </CopyButton>
              </Group>
              <Text size="sm" fw={600}>
                {m('tokens.once')}
              </Text>
            </Stack>
          </Alert>
        )}
      </Stack>
    </Paper>
  );
}

function TokenList() {
  const m = useAdminMessages();
  const fmt = useFormat();
  const tokens = useApiTokens();
  const [revoking, setRevoking] = useState<ApiToken | null>(null);
  if (tokens.isPending) return <Loading />;
  if (tokens.isError) return <Failure error={tokens.error} onRetry={() => void tokens.refetch()} />;
  const items = tokens.data.items;
  return (
    <Stack gap="xs" component="section" aria-labelledby="token-list-title">
      <Title order={4} id="token-list-title">
        {m('tokens.list')}
      </Title>
      {items.length === 0 ? (
        <Empty>{m('tokens.none')}</Empty>
      ) : (
        <Table.ScrollContainer minWidth={720}>
          <Table verticalSpacing="xs" striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{m('tokens.name')}</Table.Th>
                <Table.Th>{m('tokens.role')}</Table.Th>
                <Table.Th>{m('tokens.createdAt')}</Table.Th>
                <Table.Th>{m('tokens.lastUsed')}</Table.Th>
                <Table.Th>{m('tokens.status')}</Table.Th>
                <Table.Th>
                  <VisuallyHidden>{m('users.actions')}</VisuallyHidden>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((t) => (
                <Table.Tr key={t.id} data-testid={`token-${t.id}`}>
                  <Table.Td style={{ wordBreak: 'break-word' }}>{t.name}</Table.Td>
                  <Table.Td>{m(`role.${t.role}`)}</Table.Td>
                  <Table.Td>
                    {fmt.dateTime(t.createdAt)}
                    <Text size="xs" c="gray.8">
                      {m('tokens.createdBy')} {t.createdBy?.name ?? m('tokens.commandLine')}
                    </Text>
                  </Table.Td>
                  <Table.Td>{t.lastUsedAt ? fmt.dateTime(t.lastUsedAt) : m('tokens.never')}</Table.Td>
                  <Table.Td>
                    {t.revokedAt ? (
                      <Badge color="gray" variant="outline" c="gray.8" data-testid="token-status">
                        {m('tokens.revoked', { date: fmt.dateTime(t.revokedAt) })}
                      </Badge>
                    ) : (
                      <Badge color="green" variant="outline" c={OK_COLOR} data-testid="token-status">
                        {m('tokens.active')}
                      </Badge>
                    )}
                  </Table.Td>
                  <Table.Td>
                    {!t.revokedAt && (
                      <Button size="xs" variant="default" color="red" onClick={() => setRevoking(t)}>
                        {m('tokens.revoke')}
                      </Button>
                    )}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {revoking && <RevokeToken token={revoking} onClose={() => setRevoking(null)} />}
    </Stack>
  );
}

function RevokeToken({ token, onClose }: { token: ApiToken; onClose: () => void }) {
  const m = useAdminMessages();
  const { base } = useProject();
  const refresh = useRefresh();
  const revoke = useMutation({
    mutationFn: () => del<void>(`${base}/tokens/${token.id}`),
    onSuccess: () => {
      refresh();
      onClose();
    },
  });
  return (
    <Modal
      withinPortal={false}
      opened
      onClose={onClose}
      title={m('tokens.revokeTitle', { name: token.name })}
      closeButtonProps={{ 'aria-label': m('close') }}
    >
      <Stack>
        <Text size="sm">{m('tokens.revokeHelp')}</Text>
        {revoke.error && (
          <Alert color="red" role="alert">
            {revoke.error.message}
          </Alert>
        )}
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            {m('cancel')}
          </Button>
          <Button
            color="red"
            onClick={() => revoke.mutate()}
            loading={revoke.isPending}
            data-testid="token-revoke-confirm"
          >
            {m('tokens.revoke')}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
