import { Alert, Button, Center, Paper, PasswordInput, Stack, TextInput, Title } from '@mantine/core';
import { useState } from 'react';
import { ApiError } from '../api';
import { useI18n } from '../i18n';
import { useAuthActions } from '../session';

export function LoginPage() {
  const { t } = useI18n();
  const { login } = useAuthActions();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  return (
    <Center mih="100vh" p="md">
      <Paper
        component="form"
        withBorder
        shadow="sm"
        p="xl"
        w={380}
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          try {
            await login(email, password);
          } catch (err) {
            setError(
              err instanceof ApiError && err.status === 401
                ? t('login.failed')
                : err instanceof Error
                  ? err.message
                  : t('common.error'),
            );
          } finally {
            setBusy(false);
          }
        }}
      >
        <Stack>
          <Title order={2}>{t('app.name')}</Title>
          <Title order={4} fw={500}>
            {t('login.title')}
          </Title>
          {error && (
            <Alert color="red" role="alert">
              {error}
            </Alert>
          )}
          <TextInput
            label={t('login.email')}
            type="email"
            autoComplete="username"
            required
            value={email}
            onChange={(e) => setEmail(e.currentTarget.value)}
            autoFocus
          />
          <PasswordInput
            label={t('login.password')}
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.currentTarget.value)}
          />
          <Button type="submit" loading={busy}>
            {t('login.submit')}
          </Button>
        </Stack>
      </Paper>
    </Center>
  );
}
