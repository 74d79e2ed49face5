import { Alert, Paper, Stack, Switch, Text, Title } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { patch } from '../../api';
import { Failure, Loading } from '../../components/States';
import { useProject } from '../../session';
import { type ProjectSettings, SERVICES, type Service, useRefresh, useSetAdminData, useSettings } from './adminApi';
import { useAdminMessages } from './messages';

/** The service switches of R8 (the seed's "Service management"): SMS, widget, messengers, workspace. */
export function ServicesSection() {
  const m = useAdminMessages();
  const { base } = useProject();
  const settings = useSettings();
  const refresh = useRefresh();
  const setData = useSetAdminData();
  const change = useMutation({
    mutationFn: (v: { services: Partial<Record<Service, boolean>>; before: ProjectSettings }) =>
      patch<ProjectSettings>(`${base}/settings`, { services: v.services }),
    onError: (_e, v) => setData('settings', { ...v.before }),
    onSuccess: (data) => setData('settings', data),
    onSettled: () => refresh(),
  });
  // The switches move at once (local state, set in the event handler: the query cache notifies a
  // tick later, and a controlled input would snap back meanwhile); every answer of the server
  // replaces them, so a refusal puts a switch back.
  const server = settings.data?.services;
  const [shown, setShown] = useState(server);
  useEffect(() => setShown(server), [server]);
  const toggle = (service: Service, on: boolean) => {
    const before = settings.data;
    if (!before || !shown) return;
    setShown({ ...shown, [service]: on });
    change.mutate({ services: { [service]: on }, before });
  };
  if (settings.isPending) return <Loading />;
  if (settings.isError) return <Failure error={settings.error} onRetry={() => void settings.refetch()} />;
  const services = shown ?? settings.data.services;
  return (
    <Stack gap="md">
      <Title order={3} size="h4">
        {m('services.title')}
      </Title>
      <Text size="sm" c="gray.8">
        {m('services.help')}
      </Text>
      <Paper withBorder p="md">
        <Stack gap="md">
          {SERVICES.map((s) => (
            <Switch
              key={s}
              checked={services[s]}
              label={m(`service.${s}`)}
              description={m(`serviceHelp.${s}`)}
              onChange={(e) => toggle(s, e.currentTarget.checked)}
              data-testid={`service-${s}`}
            />
          ))}
        </Stack>
      </Paper>
      {change.error && (
        <Alert color="red" role="alert">
          {change.error.message}
        </Alert>
      )}
    </Stack>
  );
}
