import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback } from 'react';
import { ApiError, get, type Role } from '../../api';
import { useProject } from '../../session';

/**
 * The administration's server state (issue 4 §4). Every key lives under ['p', projectId, 'admin'],
 * and every change refetches that whole prefix, so the setup checklist follows each change.
 */

export const SECTIONS = [
  'users',
  'channels',
  'numbers',
  'widget',
  'services',
  'settings',
  'webhooks',
  'tokens',
] as const;
export type Section = (typeof SECTIONS)[number];

export type ChannelType = 'telegram' | 'viber' | 'messenger' | 'sms' | 'sms-http';
export const CHANNEL_TYPES: readonly ChannelType[] = ['telegram', 'viber', 'messenger', 'sms', 'sms-http'];

export interface AdminMember {
  id: number;
  name: string;
  email: string;
  role: Role;
  disabled: boolean;
  accountDisabled: boolean;
  memberSince: string;
  disabledAt: string | null;
}

export interface Invite {
  id: number;
  email: string;
  role: Role;
  name: string | null;
  status: 'pending' | 'expired' | 'accepted' | 'revoked';
  createdAt: string;
  createdBy: string | null;
  expiresAt: string;
}

export interface CreatedInvite {
  id: number;
  email: string;
  role: Role;
  token: string;
  url: string;
  expiresAt: string;
}

export interface ApiToken {
  id: number;
  name: string;
  role: Role;
  createdAt: string;
  createdBy: { id: number; name: string } | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface CreatedApiToken extends ApiToken {
  /** Shown once: only its hash is stored. */
  token: string;
}

export interface Channel {
  id: number;
  type: ChannelType;
  name: string;
  enabled: boolean;
  status: 'active' | 'disabled' | 'removed';
  webhookUrl: string | null;
  link: string | null;
  config: { lastTest?: { at: number; ok: boolean; message: string } } & Record<string, unknown>;
  /** Masked by the server (••••1234): never a secret in full. */
  credentials?: Record<string, unknown>;
  credentialsUnreadable?: boolean;
}

export interface ChannelTest {
  ok: boolean;
  message: string;
  checkedAt: string;
}

export interface PhoneNumber {
  id: number;
  e164: string;
  channelId: number;
  smsEnabled: boolean;
  outboundOnly: boolean;
  canReply: boolean;
  senderLabel: string;
}

export type Service = 'sms' | 'widget' | 'messengers' | 'workspace';
export const SERVICES: readonly Service[] = ['sms', 'widget', 'messengers', 'workspace'];
export type DistributionMode = 'first_to_answer' | 'round_robin' | 'manual';
export const DISTRIBUTION_MODES: readonly DistributionMode[] = ['first_to_answer', 'round_robin', 'manual'];

export interface ProjectSettings {
  name: string;
  timeZone: string;
  language: 'pl' | 'en' | 'uk';
  distributionMode: DistributionMode;
  autoCloseHours: number | null;
  services: Record<Service, boolean>;
  smsOutboundOnlyPrefixes: string[] | null;
  defaultSmsOutboundOnlyPrefixes: string[];
  publicKey: string;
  widgetAllowedOrigins: string[];
  widget: { color: string; greeting: string | null; position: 'bottom-right' | 'bottom-left'; callbackForm: boolean };
}

export type SetupKey = 'smsNumber' | 'widget' | 'messenger' | 'workspaceUsers' | 'serviceSwitches';
export interface SetupItem {
  key: SetupKey;
  ok: boolean;
  reason: string | null;
  hint: string | null;
  section: Section;
  path: 'sms' | 'web' | null;
}
export interface SetupChecklist {
  ready: boolean;
  paths: { sms: boolean; web: boolean };
  items: SetupItem[];
}

function useAdminQuery<T>(what: string, path: string) {
  const { project, base } = useProject();
  return useQuery({
    queryKey: ['p', project.id, 'admin', what],
    queryFn: ({ signal }) => get<T>(`${base}${path}`, signal),
  });
}

export const useSetup = () => useAdminQuery<SetupChecklist>('setup', '/setup');
export const useMembers = () => useAdminQuery<{ items: AdminMember[] }>('members', '/users/all');
export const useInvites = () => useAdminQuery<{ items: Invite[] }>('invites', '/users/invites');
export const useChannels = () => useAdminQuery<{ items: Channel[] }>('channels', '/channels');
export const useNumbers = () => useAdminQuery<{ items: PhoneNumber[] }>('numbers', '/numbers');
export const useApiTokens = () => useAdminQuery<{ items: ApiToken[] }>('tokens', '/tokens');
export const useSettings = () => useAdminQuery<ProjectSettings>('settings', '/settings');

/** Puts a fresh answer of the server into the cache at once (no stale value while refetching). */
export function useSetAdminData() {
  const qc = useQueryClient();
  const { project } = useProject();
  return useCallback(
    <T>(what: string, data: T) => {
      // A refetch still on its way would put the older answer back.
      void qc.cancelQueries({ queryKey: ['p', project.id, 'admin', what] });
      qc.setQueryData(['p', project.id, 'admin', what], data);
    },
    [qc, project.id],
  );
}

/** After any change: the admin data (checklist included) and what the other pages cache of it. */
export function useRefresh() {
  const qc = useQueryClient();
  const { project } = useProject();
  return useCallback(
    (also: { me?: boolean } = {}) => {
      void qc.invalidateQueries({ queryKey: ['p', project.id, 'admin'] });
      void qc.invalidateQueries({ queryKey: ['p', project.id, 'members'] });
      if (also.me) void qc.invalidateQueries({ queryKey: ['me'] });
    },
    [qc, project.id],
  );
}

/**
 * The API's field errors (`body.credentials.botToken`) keyed by the form's field name (`botToken`),
 * the rest as one message for the form.
 */
export function splitErrors(
  error: unknown,
  fieldOf: (apiField: string) => string | undefined,
): { fields: Record<string, string>; form: string | null } {
  if (!error) return { fields: {}, form: null };
  if (!(error instanceof ApiError)) return { fields: {}, form: error instanceof Error ? error.message : String(error) };
  const fields: Record<string, string> = {};
  const rest: string[] = [];
  for (const f of error.fields) {
    const name = fieldOf(f.field);
    if (name && !fields[name]) fields[name] = f.message;
    else if (!name) rest.push(`${f.field}: ${f.message}`);
  }
  const form = error.fields.length === 0 ? error.message : rest.length ? rest.join('; ') : null;
  return { fields, form };
}

/** `body.x.y` → `y` for the fields under `body.x` (or `body.y` when no prefix is given). */
export const fieldUnder =
  (prefix = 'body') =>
  (apiField: string) => {
    if (!apiField.startsWith(`${prefix}.`)) return undefined;
    return apiField.slice(prefix.length + 1).split('.')[0];
  };
