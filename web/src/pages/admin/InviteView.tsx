import { Alert, Anchor, Button, Center, Paper, PasswordInput, Stack, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useNavigate, useParams } from 'react-router';
import { ApiError, get, type Me, post, setCsrfToken } from '../../api';
import { Loading } from '../../components/States';
import { useI18n } from '../../i18n';
import { fieldUnder, splitErrors } from './adminApi';
import { CONTRAST_VARS } from './contrast';
import { useAdminMessages } from './messages';

interface PublicInvite {
  projectName: string;
  email: string;
  role: 'admin' | 'supervisor' | 'manager';
  name: string | null;
  expiresAt: string;
  existingAccount: boolean;
}

/**
 * Accepting an invitation: a new account chooses a name and a password; an existing account
 * confirms with its password. Then the person is signed in and lands in the project.
 */
export default function InviteView() {
  const m = useAdminMessages();
  const { t, intlLocale } = useI18n();
  const token = useParams().token ?? '';
  const navigate = useNavigate();
  const qc = useQueryClient();
  const invite = useQuery({
    queryKey: ['invite', token],
    queryFn: ({ signal }) => get<PublicInvite>(`/api/v1/invites/${encodeURIComponent(token)}`, signal),
    retry: (n, e) => !(e instanceof ApiError && e.status < 500) && n < 2,
    staleTime: Number.POSITIVE_INFINITY,
  });
  const [name, setName] = useState<string | null>(null);
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [mismatch, setMismatch] = useState(false);
  const accept = useMutation({
    mutationFn: () =>
      post<Me & { projectId: number }>(`/api/v1/invites/${encodeURIComponent(token)}/accept`, {
        ...(invite.data?.existingAccount ? {} : { name: name ?? invite.data?.name ?? '' }),
        password,
      }),
    onSuccess: ({ projectId, ...me }) => {
      setCsrfToken(me.csrfToken);
      qc.clear();
      qc.setQueryData(['me'], me);
      navigate(`/p/${projectId}/workspace`, { replace: true });
    },
  });
  const errors = splitErrors(accept.error, fieldUnder());
  const wrongPassword = accept.error instanceof ApiError && accept.error.status === 401;

  let body: React.ReactNode;
  if (invite.isPending) body = <Loading />;
  else if (invite.isError) {
    const e = invite.error;
    const gone = e instanceof ApiError && e.status === 410;
    const missing = e instanceof ApiError && e.status === 404;
    body = (
      <Stack>
        <Alert
          color="red"
          role="alert"
          title={gone ? m('accept.gone') : missing ? m('accept.unknown') : t('common.error')}
        >
          {gone ? e.message : missing ? m('accept.unknownHelp') : e.message}
        </Alert>
        <Anchor href="/">{m('accept.toLogin')}</Anchor>
      </Stack>
    );
  } else {
    const i = invite.data;
    const existing = i.existingAccount;
    body = (
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (!existing && password !== repeat) {
            setMismatch(true);
            return;
          }
          setMismatch(false);
          accept.mutate();
        }}
      >
        <Stack>
          <Text>{m('accept.intro', { project: i.projectName, role: m(`role.${i.role}`) })}</Text>
          <TextInput label={m('invite.email')} value={i.email} readOnly />
          {existing ? (
            <Text size="sm" c="gray.8">
              {m('accept.existing')}
            </Text>
          ) : (
            <TextInput
              label={m('accept.name')}
              description={m('accept.nameHelp')}
              required
              autoComplete="name"
              value={name ?? i.name ?? ''}
              onChange={(e) => setName(e.currentTarget.value)}
              error={errors.fields.name}
              data-testid="accept-name"
            />
          )}
          <PasswordInput
            label={existing ? m('accept.currentPassword') : m('accept.newPassword')}
            description={existing ? undefined : m('accept.passwordHelp')}
            required
            autoComplete={existing ? 'current-password' : 'new-password'}
            value={password}
            onChange={(e) => setPassword(e.currentTarget.value)}
            error={errors.fields.password ?? (wrongPassword ? accept.error?.message : undefined)}
            data-testid="accept-password"
          />
          {!existing && (
            <PasswordInput
              label={m('accept.repeat')}
              required
              autoComplete="new-password"
              value={repeat}
              onChange={(e) => setRepeat(e.currentTarget.value)}
              error={mismatch ? m('accept.mismatch') : undefined}
              data-testid="accept-repeat"
            />
          )}
          {errors.form && !wrongPassword && (
            <Alert color="red" role="alert">
              {errors.form}
            </Alert>
          )}
          <Text size="sm" c="gray.8">
            {m('accept.expires', {
              date: new Intl.DateTimeFormat(intlLocale, { dateStyle: 'medium', timeStyle: 'short' }).format(
                new Date(i.expiresAt),
              ),
            })}
          </Text>
          <Button type="submit" loading={accept.isPending} data-testid="accept-submit">
            {m('accept.submit')}
          </Button>
        </Stack>
      </form>
    );
  }

  return (
    <Center mih="100vh" p="md" style={CONTRAST_VARS}>
      <Paper component="main" withBorder shadow="sm" p="xl" w={440} maw="100%">
        <Stack>
          <Title order={1} size="h2">
            {t('app.name')}
          </Title>
          <Title order={2} size="h4" fw={500}>
            {m('accept.title')}
          </Title>
          {body}
        </Stack>
      </Paper>
    </Center>
  );
}
