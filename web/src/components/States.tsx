import { Alert, Button, Center, Loader, Stack, Text } from '@mantine/core';
import { useI18n } from '../i18n';

/** The loading, empty and error states every list and page shows. */
export function Loading() {
  const { t } = useI18n();
  return (
    <Center p="xl" aria-busy="true">
      <Loader size="sm" role="status" aria-label={t('common.loading')} />
    </Center>
  );
}

export function Empty({ children }: { children?: React.ReactNode }) {
  const { t } = useI18n();
  return (
    <Center p="xl">
      <Text c="gray.7">{children ?? t('common.empty')}</Text>
    </Center>
  );
}

export function Failure({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t } = useI18n();
  return (
    <Stack p="md">
      <Alert color="red" title={t('common.error')} role="alert">
        {error instanceof Error ? error.message : String(error)}
      </Alert>
      {onRetry && (
        <Button variant="light" onClick={onRetry} w="fit-content">
          {t('common.retry')}
        </Button>
      )}
    </Stack>
  );
}
