import {
  Alert,
  Button,
  Checkbox,
  Group,
  NumberInput,
  Paper,
  Radio,
  Select,
  Stack,
  Switch,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { patch } from '../../api';
import { LOCALE_NAMES } from '../../i18n';
import { Failure, Loading } from '../../components/States';
import { useProject } from '../../session';
import {
  DISTRIBUTION_MODES,
  type DistributionMode,
  fieldUnder,
  type ProjectSettings,
  splitErrors,
  useRefresh,
  useSetAdminData,
  useSettings,
} from './adminApi';
import { useAdminMessages } from './messages';
import { OK_COLOR } from './contrast';

/** Project settings: name, time zone, language, distribution mode, auto-close, outbound-only prefixes. */
export function SettingsSection() {
  const settings = useSettings();
  const [saved, setSaved] = useState(false);
  if (settings.isPending) return <Loading />;
  if (settings.isError) return <Failure error={settings.error} onRetry={() => void settings.refetch()} />;
  // Re-mounted with the saved values after each save.
  return <SettingsForm key={JSON.stringify(settings.data)} initial={settings.data} saved={saved} onSaved={setSaved} />;
}

function timeZones(current: string): string[] {
  let zones: string[] = [];
  try {
    zones = Intl.supportedValuesOf('timeZone');
  } catch {
    zones = [];
  }
  // Intl's list keeps some old names (Europe/Kiev); the current ones are offered too.
  return [...new Set([...zones, 'Europe/Kyiv', 'UTC', current])].sort();
}

function SettingsForm({
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
  const refresh = useRefresh();
  const setData = useSetAdminData();
  const [name, setName] = useState(initial.name);
  const [timeZone, setTimeZone] = useState(initial.timeZone);
  const [language, setLanguage] = useState(initial.language);
  const [mode, setMode] = useState<DistributionMode>(initial.distributionMode);
  const [autoClose, setAutoClose] = useState(initial.autoCloseHours !== null);
  const [hours, setHours] = useState<number | string>(initial.autoCloseHours ?? 24);
  const [defaultPrefixes, setDefaultPrefixes] = useState(initial.smsOutboundOnlyPrefixes === null);
  const [prefixes, setPrefixes] = useState(
    (initial.smsOutboundOnlyPrefixes ?? initial.defaultSmsOutboundOnlyPrefixes).join(', '),
  );
  const zones = useMemo(() => timeZones(initial.timeZone), [initial.timeZone]);

  const save = useMutation({
    mutationFn: () =>
      patch<ProjectSettings>(`${base}/settings`, {
        name,
        timeZone,
        language,
        distributionMode: mode,
        autoCloseHours: autoClose ? (typeof hours === 'number' ? hours : Number(hours)) : null,
        smsOutboundOnlyPrefixes: defaultPrefixes
          ? null
          : prefixes
              .split(/[,;\s]+/)
              .map((p) => p.trim())
              .filter(Boolean),
      }),
    onMutate: () => onSaved(false),
    onSuccess: (data) => {
      onSaved(true);
      setData('settings', data);
      refresh({ me: true });
    },
  });
  const errors = splitErrors(save.error, fieldUnder());

  return (
    <Paper
      withBorder
      p="md"
      component="form"
      aria-labelledby="settings-title"
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate();
      }}
    >
      <Stack gap="md" maw={640}>
        <Title order={3} size="h4" id="settings-title">
          {m('settings.title')}
        </Title>
        <TextInput
          label={m('settings.name')}
          required
          value={name}
          onChange={(e) => setName(e.currentTarget.value)}
          error={errors.fields.name}
          data-testid="settings-name"
        />
        <Select
          label={m('settings.timeZone')}
          description={m('settings.timeZoneHelp')}
          data={zones}
          value={timeZone}
          onChange={(v) => v && setTimeZone(v)}
          searchable
          allowDeselect={false}
          error={errors.fields.timeZone}
          data-testid="settings-timezone"
        />
        <Select
          label={m('settings.language')}
          description={m('settings.languageHelp')}
          data={(['pl', 'en', 'uk'] as const).map((l) => ({ value: l, label: LOCALE_NAMES[l] }))}
          value={language}
          onChange={(v) => v && setLanguage(v as ProjectSettings['language'])}
          allowDeselect={false}
          error={errors.fields.language}
        />
        <Radio.Group
          label={m('settings.distribution')}
          value={mode}
          onChange={(v) => setMode(v as DistributionMode)}
          error={errors.fields.distributionMode}
        >
          <Stack gap="xs" mt="xs">
            {DISTRIBUTION_MODES.map((d) => (
              <Radio key={d} value={d} label={m(`distribution.${d}`)} description={m(`distributionHelp.${d}`)} />
            ))}
          </Stack>
        </Radio.Group>
        <Stack gap="xs">
          <Switch
            label={m('settings.autoClose')}
            checked={autoClose}
            onChange={(e) => setAutoClose(e.currentTarget.checked)}
          />
          {autoClose && (
            <NumberInput
              label={m('settings.autoCloseHours')}
              min={1}
              max={720}
              allowDecimal={false}
              value={hours}
              onChange={setHours}
              error={errors.fields.autoCloseHours}
              w={220}
            />
          )}
          {!autoClose && errors.fields.autoCloseHours && (
            <Text size="sm" c="red.9">
              {errors.fields.autoCloseHours}
            </Text>
          )}
        </Stack>
        <Stack gap="xs">
          <Checkbox
            label={m('settings.prefixesDefault', {
              prefixes: initial.defaultSmsOutboundOnlyPrefixes.join(', ') || '—',
            })}
            checked={defaultPrefixes}
            onChange={(e) => setDefaultPrefixes(e.currentTarget.checked)}
          />
          <TextInput
            label={m('settings.prefixes')}
            description={m('settings.prefixesHelp')}
            value={prefixes}
            onChange={(e) => setPrefixes(e.currentTarget.value)}
            disabled={defaultPrefixes}
            error={errors.fields.smsOutboundOnlyPrefixes}
          />
        </Stack>
        {errors.form && (
          <Alert color="red" role="alert">
            {errors.form}
          </Alert>
        )}
        {saved && (
          <Text size="sm" c={OK_COLOR} role="status">
            {m('settings.saved')}
          </Text>
        )}
        <Group>
          <Button type="submit" loading={save.isPending} data-testid="settings-save">
            {m('save')}
          </Button>
        </Group>
      </Stack>
    </Paper>
  );
}
