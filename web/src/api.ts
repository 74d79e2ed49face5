/**
 * The API client: JSON over fetch with the session cookie, the CSRF token on every write, and the
 * server's error body `{ error: { code, message, fields? } }` as an ApiError.
 */

export interface FieldIssue {
  field: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields: FieldIssue[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

let csrfToken: string | null = null;

export function setCsrfToken(token: string | null) {
  csrfToken = token;
}

export async function api<T>(
  method: string,
  path: string,
  body?: unknown,
  signal?: AbortSignal,
  extraHeaders: Record<string, string> = {},
): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...extraHeaders };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    ...(signal ? { signal } : {}),
  });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (!res.ok) {
    const e = (data as { error?: { code?: string; message?: string; fields?: FieldIssue[] } } | undefined)?.error;
    throw new ApiError(res.status, e?.code ?? 'http_error', e?.message ?? `HTTP ${res.status}`, e?.fields ?? []);
  }
  return data as T;
}

export const get = <T>(path: string, signal?: AbortSignal) => api<T>('GET', path, undefined, signal);
export const post = <T>(path: string, body: unknown = {}, headers?: Record<string, string>) =>
  api<T>('POST', path, body, undefined, headers);

/**
 * A fresh `Idempotency-Key`: 128 random bits in hex. (crypto.randomUUID exists only in secure
 * contexts, and an installation may be served over plain http on a LAN.)
 */
export function newIdempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
export const patch = <T>(path: string, body: unknown) => api<T>('PATCH', path, body);
export const del = <T>(path: string) => api<T>('DELETE', path);

/** Query-string builder that repeats array values (`managerId=1&managerId=2`) and skips empties. */
export function qs(
  params: Record<string, string | number | boolean | readonly (string | number)[] | null | undefined>,
) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === undefined || v === '') continue;
    if (Array.isArray(v)) for (const x of v) u.append(k, String(x));
    else u.set(k, String(v));
  }
  const s = u.toString();
  return s ? `?${s}` : '';
}

// ---- API shapes (SPEC §7) ----

export type Role = 'admin' | 'supervisor' | 'manager';

export interface ProjectInfo {
  id: number;
  name: string;
  role: Role;
  timeZone: string;
  language: string;
}

export interface Me {
  user: { id: number; email: string; name: string; locale: string | null };
  csrfToken: string;
  projects: ProjectInfo[];
}

export interface Dialog {
  id: number;
  status: 'new' | 'open' | 'closed';
  channel: 'sms' | 'telegram' | 'viber' | 'messenger';
  channelId: number;
  createdAt: string;
  closedAt: string | null;
  closedBy: { id: number | null; name: string | null } | null;
  closeReason: string | null;
  client: { id: number; name: string; phone: string | null; handle: string | null };
  manager: { id: number; name: string | null } | null;
  lastResponder: { type: string; id: number | null; name: string | null } | null;
  lastMessageAt: string | null;
  lastDirection: 'in' | 'out' | null;
  source: {
    label: string | null;
    utmSource: string | null;
    utmMedium: string | null;
    utmCampaign: string | null;
    utmTerm: string | null;
    utmContent: string | null;
    referrer: string | null;
    landingUrl: string | null;
    channelGroup: string | null;
    clickIds: string | null;
  } | null;
  canReply: boolean;
  senderLabel: string | null;
  messageCounts: { in: number; out: number };
  firstResponseSeconds: number | null;
  unreadCount: number;
}

/** GET .../dialogs/{id}: the list's fields plus what the composer needs to warn before a send. */
export interface DialogDetail extends Dialog {
  clientReachable?: { reachable: boolean; reason: 'blocked' | 'unsubscribed' | null };
  lastClientMessageAt?: string | null;
  /** With `manual`, a manager waits for a supervisor to assign an unassigned dialog. */
  distributionMode?: 'first_to_answer' | 'round_robin' | 'manual';
}

export interface Message {
  id: number;
  dialogId: number;
  direction: 'in' | 'out';
  author: { type: 'client' | 'manager' | 'auto' | 'system'; id: number | null; name: string | null };
  text: string;
  attachments: unknown[];
  createdAt: string;
  status: 'queued' | 'sent' | 'delivered' | 'read' | 'failed';
  failureReason: string | null;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface Member {
  id: number;
  name: string;
  email?: string;
  role: Role;
}
