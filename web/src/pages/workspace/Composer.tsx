import { Button, Group, Stack, Text, Textarea } from '@mantine/core';
import { type Ref, useMemo, useState } from 'react';
import { ACCENT, MUTED } from './bits';
import { useWorkspaceMessages } from './messages';
import { analyzeSms } from './sms';

/** At most this many SMS parts per message (the server's SMS_MAX_PARTS). */
const SMS_MAX_PARTS = 10;

/**
 * The message box: Enter sends, Shift+Enter breaks the line (Ctrl/Cmd+Enter also sends). For SMS
 * it counts as the SMSC will: characters, GSM or UCS-2 (naming the characters that forced UCS-2)
 * and the number of parts.
 */
export function Composer({
  sms,
  disabled,
  busy,
  onSend,
  inputRef,
  value,
  onChange,
}: {
  sms: boolean;
  disabled: boolean;
  busy: boolean;
  onSend: (text: string) => void;
  inputRef: Ref<HTMLTextAreaElement>;
  value: string;
  onChange: (v: string) => void;
}) {
  const m = useWorkspaceMessages();
  const analysis = useMemo(() => (sms && value.length > 0 ? analyzeSms(value) : null), [sms, value]);
  const tooLong = analysis !== null && analysis.segments > SMS_MAX_PARTS;
  const [composing, setComposing] = useState(false);
  const canSend = !disabled && !tooLong && value.trim().length > 0;

  const send = () => {
    if (canSend) onSend(value);
  };

  return (
    <Stack gap={4}>
      <Textarea
        ref={inputRef}
        aria-label={m('composer.label')}
        placeholder={m('composer.placeholder')}
        autosize
        minRows={2}
        maxRows={8}
        value={value}
        disabled={disabled}
        onChange={(e) => onChange(e.currentTarget.value)}
        onCompositionStart={() => setComposing(true)}
        onCompositionEnd={() => setComposing(false)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') {
            e.currentTarget.blur();
            return;
          }
          if (e.key !== 'Enter' || composing || e.nativeEvent.isComposing) return;
          if (e.shiftKey) return; // a new line
          e.preventDefault();
          send();
        }}
        data-testid="composer"
      />
      <Group justify="space-between" wrap="nowrap" align="flex-start" gap="xs">
        <Stack gap={0} style={{ minWidth: 0 }}>
          {analysis && (
            <Text size="xs" c={tooLong ? 'red.9' : MUTED} data-testid="sms-counter" aria-live="polite">
              {m('composer.sms', {
                chars: [...value].length,
                encoding: analysis.encoding === 'ucs2' ? 'UCS-2' : 'GSM',
                segments: analysis.segments,
                remaining: analysis.remainingInSegment,
              })}
            </Text>
          )}
          {analysis && analysis.nonGsmCharacters.length > 0 && (
            <Text size="xs" c={MUTED} data-testid="sms-ucs2-reason">
              {m('composer.ucs2Because', { chars: analysis.nonGsmCharacters.join(' ') })}
            </Text>
          )}
          {tooLong && (
            <Text size="xs" c="red.9">
              {m('composer.smsTooLong')}
            </Text>
          )}
        </Stack>
        <Button color={ACCENT} onClick={send} disabled={!canSend} loading={busy} data-testid="send">
          {m('composer.send')}
        </Button>
      </Group>
    </Stack>
  );
}
