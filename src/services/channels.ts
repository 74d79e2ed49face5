import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { z } from 'zod';
import { GraphApi } from '../channels/messenger/api.js';
import { TELEGRAM_ALLOWED_UPDATES, TELEGRAM_BOT_TOKEN, TelegramApi } from '../channels/telegram/api.js';
import { VIBER_EVENT_TYPES, ViberApi } from '../channels/viber/api.js';
import { AppError, ConflictError, ErrorCodes, NotFoundError, PlatformError, ValidationError } from '../core/errors.js';
import { mask, SecretBoxError } from '../core/secret-box.js';
import { type ChannelRow, findChannel, openCredentials, sealCredentials } from '../store/channels.js';
import type { Db } from '../store/types.js';
import { audit } from './audit.js';
import { actorRole, type ProjectContext } from './context.js';
import { parseInput } from '../core/validate.js';

/**
 * Channel set-up (SPEC §4.8, issue 3 item 1): create, change, test and remove a channel, with its
 * webhook registered at the platform.
 *
 * - Credentials are sealed JSON bound to `channel:<project>:<id>` (store/channels.ts), so a row is
 *   inserted first and sealed with its id. They never come back in full: admins see masked values,
 *   everyone else sees none.
 * - Creating a Telegram / Viber / Messenger channel checks the credentials at the platform, then
 *   commits the row (so that the platform's own call to the new webhook — Viber's signed
 *   `event: webhook`, Meta's verification GET — finds it and its secrets), then registers the
 *   webhook. If the platform refuses, the row is deleted again and the caller gets the platform's
 *   words: nothing half-created stays behind. (A crash between the two leaves a channel whose
 *   connection test reports the webhook as not registered.)
 * - Removing is a soft delete when dialogs reference the channel (they keep their history and the
 *   channel's name): `enabled = 0`, `config.removedAt`, credentials and webhook secret wiped. A
 *   channel nothing refers to is deleted for real. Either way `findChannelById` + `enabled` lets the
 *   webhook routes answer 404, and the channel's numbers are deleted (their E.164 becomes free).
 * - Disabling (`enabled: false`) only pauses: the webhook stays registered, our webhook routes
 *   refuse (404), and Telegram keeps the updates (up to 24 h) for when the channel is enabled again,
 *   which re-registers the webhook.
 */

export type ChannelKind = 'telegram' | 'viber' | 'messenger' | 'sms' | 'sms-http';
export const CHANNEL_KINDS = ['telegram', 'viber', 'messenger', 'sms', 'sms-http'] as const;

// ---------------------------------------------------------------------------------------------
// Input schemas

/**
 * A credentials object whose unknown keys are reported by name (`body.credentials.foo`) rather than
 * as "credentials is not a known parameter".
 */
function credentialsOf<S extends z.ZodRawShape>(label: string, shape: S) {
  const known = Object.keys(shape);
  return z.looseObject(shape).superRefine((value, c) => {
    for (const key of Object.keys(value)) {
      if (!known.includes(key)) {
        c.addIssue({
          code: 'custom',
          path: [key],
          message: `is not a ${label} credential (known: ${known.join(', ')})`,
        });
      }
    }
  });
}

const digitsString = (message: string) =>
  z
    .preprocess((v) => (typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : v), z.string().trim())
    .pipe(z.string().regex(/^\d{1,30}$/, message));
const intFrom = (min: number, max: number, message: string) =>
  z.preprocess(
    (v) => (typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v),
    z.number({ error: message }).int(message).min(min, message).max(max, message),
  );

const telegramShape = {
  botToken: z
    .string({ error: 'is required: the token @BotFather gave you' })
    .trim()
    .regex(TELEGRAM_BOT_TOKEN, 'must look like 123456789:AA… (digits, a colon, 35 letters, digits, _ or -)'),
};
const viberShape = {
  authToken: z
    .string({ error: 'is required: the token from the Viber Admin Panel' })
    .trim()
    .regex(/^[A-Za-z0-9_-]{10,200}$/, 'must be the bot token from the Viber Admin Panel (letters, digits and dashes)'),
};
const messengerShape = {
  pageId: digitsString('must be the numeric id of the Facebook page'),
  pageAccessToken: z
    .string({ error: 'is required' })
    .trim()
    .regex(/^\S{20,1000}$/, 'must be a page access token (20–1000 characters, no spaces)'),
  appSecret: z
    .string({ error: 'is required' })
    .trim()
    .regex(/^[0-9a-fA-F]{32}$/, 'must be the 32 hexadecimal characters of the app secret (App settings → Basic)'),
  verifyToken: z
    .string({ error: 'is required: any text you also enter in the App Dashboard' })
    .regex(/^[\x21-\x7e]{1,256}$/, 'must be 1–256 printable ASCII characters without spaces'),
  /** With the app id, the webhook (callback URL + verify token) is set at Meta too; otherwise in the App Dashboard. */
  appId: digitsString('must be the numeric app id').optional(),
};
const smppShape = {
  host: z
    .string({ error: 'is required' })
    .trim()
    .regex(/^[A-Za-z0-9.:_-]{1,253}$/, 'must be a host name or an IP address'),
  port: intFrom(1, 65535, 'must be a port number, 1–65535'),
  // SMPP 3.4 §4.1.1 bind_transceiver: system_id max 16 octets, password max 9, system_type max 13,
  // each including the terminating NUL.
  systemId: z.string({ error: 'is required' }).min(1, 'is required').max(15, 'must be at most 15 characters'),
  password: z.string({ error: 'is required' }).min(1, 'is required').max(8, 'must be at most 8 characters (SMPP 3.4)'),
  systemType: z.string().max(12, 'must be at most 12 characters').optional(),
  /** TON / NPI of our numeric originators; SPEC §7 says 1 / 1, some operators want otherwise. */
  sourceTon: intFrom(0, 6, 'must be a type of number 0–6').optional(),
  sourceNpi: intFrom(0, 18, 'must be a numbering plan 0–18').optional(),
  /** SMPP over TLS. */
  tls: z.boolean({ error: 'must be true or false' }).optional(),
  enquireLinkSeconds: intFrom(5, 600, 'must be 5–600 seconds').optional(),
  windowSize: intFrom(1, 100, 'must be 1–100 outstanding submit_sm').optional(),
  /** What data_coding 0 means on this SMSC (core/sms.ts decodeSms). */
  defaultAlphabet: z.enum(['gsm7', 'latin1'], { error: 'must be gsm7 or latin1' }).optional(),
};
const httpUrl = z
  .string({ error: 'is required' })
  .trim()
  .max(2000, 'must be at most 2000 characters')
  .refine((v) => {
    try {
      const u = new URL(v);
      return u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      return false;
    }
  }, 'must be an absolute http(s) URL');
const smsHttpShape = {
  sendUrl: httpUrl,
  secret: z
    .string({ error: 'is required' })
    .min(16, 'must be at least 16 characters (it authenticates the gateway’s callbacks)')
    .max(512, 'must be at most 512 characters'),
};

const SHAPES = {
  telegram: telegramShape,
  viber: viberShape,
  messenger: messengerShape,
  sms: smppShape,
  'sms-http': smsHttpShape,
} as const;

export const TelegramCredentials = credentialsOf('telegram', telegramShape);
export const ViberCredentials = credentialsOf('viber', viberShape);
export const MessengerCredentials = credentialsOf('messenger', messengerShape);
export const SmppCredentials = credentialsOf('SMPP', smppShape);
export const SmsHttpCredentials = credentialsOf('HTTP gateway', smsHttpShape);
export type TelegramCredentials = z.infer<typeof TelegramCredentials>;
export type ViberCredentials = z.infer<typeof ViberCredentials>;
export type MessengerCredentials = z.infer<typeof MessengerCredentials>;
export type SmppCredentials = z.infer<typeof SmppCredentials>;
export type SmsHttpCredentials = z.infer<typeof SmsHttpCredentials>;

const FULL = {
  telegram: TelegramCredentials,
  viber: ViberCredentials,
  messenger: MessengerCredentials,
  sms: SmppCredentials,
  'sms-http': SmsHttpCredentials,
} as const;

const ChannelName = z
  .string({ error: 'must be text' })
  .trim()
  .min(1, 'must not be empty')
  .max(100, 'must be at most 100 characters');

const option = <T extends ChannelKind, C extends z.ZodType>(type: T, credentials: C) =>
  z.strictObject({
    type: z.literal(type),
    name: ChannelName.optional().describe('Shown to managers; by default taken from the platform (bot or page name)'),
    credentials,
  });

export const CreateChannelInput = z.discriminatedUnion(
  'type',
  [
    option('telegram', TelegramCredentials),
    option('viber', ViberCredentials),
    option('messenger', MessengerCredentials),
    option('sms', SmppCredentials),
    option('sms-http', SmsHttpCredentials),
  ],
  { error: (iss) => (iss.code === 'invalid_union' ? `must be one of ${CHANNEL_KINDS.join(', ')}` : undefined) },
);
export type CreateChannelInput = z.infer<typeof CreateChannelInput>;

export const UpdateChannelInput = z.strictObject({
  name: ChannelName.optional(),
  enabled: z
    .boolean({ error: 'must be true or false' })
    .optional()
    .describe('false pauses the channel (its webhooks are refused); true re-registers the webhook'),
  credentials: z
    .record(z.string(), z.unknown(), { error: 'must be an object' })
    .optional()
    .describe(
      'Credentials to rotate, named as on create; the ones left out keep their value. The platform is asked again.',
    ),
});
export type UpdateChannelInput = z.infer<typeof UpdateChannelInput>;

export const ListChannelsQuery = z.strictObject({
  includeRemoved: z
    .enum(['true', 'false', '1', '0'], { error: 'must be true or false' })
    .optional()
    .transform((v) => v === 'true' || v === '1')
    .describe('Also list removed channels (kept for the history of their dialogs)'),
});

// ---------------------------------------------------------------------------------------------
// Response shape

const instant = z.string().describe('ISO 8601 instant (UTC)');
export const ChannelSchema = z.object({
  id: z.number().int(),
  type: z.enum(CHANNEL_KINDS),
  name: z.string(),
  enabled: z.boolean(),
  status: z.enum(['active', 'disabled', 'removed']),
  webhookUrl: z.string().nullable().describe('Where the platform calls us (null for SMPP, which we call)'),
  link: z.string().nullable().describe('Deep link a client opens: t.me, viber://pa, m.me'),
  config: z
    .record(z.string(), z.unknown())
    .describe('What the platform told us: bot username, Viber uri, page name, ...; and the last connection test'),
  credentials: z
    .record(z.string(), z.unknown())
    .optional()
    .describe('Admins only, and masked: secrets show as ••••1234'),
  credentialsUnreadable: z
    .boolean()
    .optional()
    .describe('Admins only: the stored credentials cannot be decrypted (SECRET_KEY changed); enter them again'),
  createdAt: instant,
  updatedAt: instant,
  removedAt: instant.nullable(),
});
export type ChannelView = z.infer<typeof ChannelSchema>;

export const ChannelTestSchema = z.object({
  ok: z.boolean(),
  message: z.string().describe('What a person reads: what works, or what the platform said'),
  checkedAt: instant,
  latencyMs: z.number(),
  account: z.record(z.string(), z.unknown()).optional(),
  webhook: z
    .object({
      expected: z.string(),
      actual: z.string().nullable(),
      registered: z.boolean(),
      lastError: z.string().nullable().optional(),
      pendingUpdates: z.number().optional(),
    })
    .optional(),
  error: z.object({ platform: z.string(), status: z.number(), code: z.union([z.string(), z.number()]) }).optional(),
});
export type ChannelTestResult = z.infer<typeof ChannelTestSchema>;

export const RemoveChannelSchema = z.object({
  id: z.number().int(),
  removed: z.enum(['soft', 'hard']).describe('soft: kept for the history of its dialogs; hard: deleted'),
  numbersRemoved: z.number().int(),
  platform: z
    .object({ action: z.string(), ok: z.boolean(), message: z.string() })
    .nullable()
    .describe('What was undone at the platform (null for SMS)'),
});

// ---------------------------------------------------------------------------------------------
// Stored config (public facts only: it is shown to every role)

export interface ChannelConfig {
  botId?: number;
  botUsername?: string;
  botName?: string;
  accountId?: string;
  uri?: string;
  icon?: string;
  pageId?: string;
  pageName?: string;
  appId?: string;
  /** Messenger: the app's callback URL was set (and verified by Meta) through the API, or is left to the App Dashboard. */
  appWebhook?: 'verified' | 'app-dashboard';
  protocol?: 'smpp' | 'http';
  systemId?: string;
  removedAt?: number;
  lastTest?: { at: number; ok: boolean; message: string };
  [key: string]: unknown;
}

export function readConfig(row: Pick<ChannelRow, 'config'>): ChannelConfig {
  try {
    const v = JSON.parse(row.config || '{}') as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as ChannelConfig) : {};
  } catch {
    return {};
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

const LABEL: Record<ChannelKind, string> = {
  telegram: 'Telegram',
  viber: 'Viber',
  messenger: 'Facebook',
  sms: 'The SMSC',
  'sms-http': 'The SMS gateway',
};

export function webhookUrl(ctx: Pick<ProjectContext, 'config'>, type: string, id: number): string | null {
  // SMPP needs no webhook: we call the SMSC. The HTTP SMS gateway calls /webhooks/sms/{id}.
  if (type === 'sms') return null;
  return `${ctx.config.publicUrl}/webhooks/${type === 'sms-http' ? 'sms' : type}/${id}`;
}

export function deepLink(type: string, config: ChannelConfig): string | null {
  if (type === 'telegram' && config.botUsername) return `https://t.me/${config.botUsername}`;
  if (type === 'viber' && config.uri) return `viber://pa?chatURI=${encodeURIComponent(config.uri)}`;
  if (type === 'messenger' && config.pageId) return `https://m.me/${config.pageId}`;
  return null;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** A URL that may carry a key: user info and query values masked. */
function maskUrl(value: string): string {
  try {
    const u = new URL(value);
    if (u.username) u.username = '••••';
    if (u.password) u.password = '••••';
    for (const key of [...u.searchParams.keys()]) u.searchParams.set(key, mask(u.searchParams.get(key) ?? ''));
    return decodeURI(u.toString());
  } catch {
    return mask(value);
  }
}

/** Credentials as an admin sees them: identifiers in full, every secret masked. */
function maskedCredentials(type: string, creds: Record<string, unknown>): Record<string, unknown> {
  const secret = (v: unknown) => (typeof v === 'string' ? mask(v) : undefined);
  const out: Record<string, unknown> = {};
  const put = (key: string, value: unknown) => {
    if (value !== undefined) out[key] = value;
  };
  switch (type) {
    case 'telegram':
      put('botToken', secret(creds.botToken));
      break;
    case 'viber':
      put('authToken', secret(creds.authToken));
      break;
    case 'messenger':
      put('pageId', creds.pageId);
      put('appId', creds.appId);
      put('pageAccessToken', secret(creds.pageAccessToken));
      put('appSecret', secret(creds.appSecret));
      put('verifyToken', secret(creds.verifyToken));
      break;
    case 'sms':
      for (const key of Object.keys(smppShape)) put(key, key === 'password' ? secret(creds[key]) : creds[key]);
      break;
    case 'sms-http':
      put('sendUrl', typeof creds.sendUrl === 'string' ? maskUrl(creds.sendUrl) : undefined);
      put('secret', secret(creds.secret));
      break;
  }
  return out;
}

function isRemoved(row: ChannelRow, config = readConfig(row)): boolean {
  return row.enabled === 0 && config.removedAt !== undefined;
}

export function channelView(ctx: ProjectContext, row: ChannelRow): ChannelView {
  const config = readConfig(row);
  const removed = isRemoved(row, config);
  const view: ChannelView = {
    id: row.id,
    type: row.type as ChannelKind,
    name: row.name,
    enabled: row.enabled === 1,
    status: removed ? 'removed' : row.enabled === 1 ? 'active' : 'disabled',
    webhookUrl: removed ? null : webhookUrl(ctx, row.type, row.id),
    link: removed ? null : deepLink(row.type, config),
    config: Object.fromEntries(Object.entries(config).filter(([k]) => k !== 'removedAt')),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    removedAt: config.removedAt === undefined ? null : iso(config.removedAt),
  };
  if (actorRole(ctx.actor) === 'admin' && !removed) {
    const creds = readCredentials(ctx, row);
    if (creds) view.credentials = maskedCredentials(row.type, creds);
    else view.credentialsUnreadable = true;
  }
  return view;
}

/** The stored credentials, or null when they cannot be opened (SECRET_KEY changed, or tampered with). */
function readCredentials(ctx: ProjectContext, row: ChannelRow): Record<string, unknown> | null {
  try {
    return openCredentials<Record<string, unknown>>(ctx.config.secretKey, row);
  } catch (e) {
    if (e instanceof SecretBoxError) return null;
    throw e;
  }
}

/** A channel of this project that has not been removed; 404 otherwise (foreign and missing look alike). */
async function loadLive(ctx: ProjectContext, id: number): Promise<ChannelRow> {
  const row = await findChannel(ctx.store, ctx.project.id, id);
  if (!row || isRemoved(row)) throw new NotFoundError('Channel');
  return row;
}

function codeText(e: PlatformError): string {
  if (e.platform === 'viber') return `status ${e.code}`;
  if (e.platform === 'messenger') return `code ${e.code}${e.subcode !== undefined ? `/${e.subcode}` : ''}`;
  if (e.platform === 'smpp') return typeof e.code === 'number' ? smppStatusName(e.code) : String(e.code);
  return `error ${e.code}`;
}

/** What a person reads about a failed platform call, in the platform's own words. */
function describe(type: ChannelKind, e: PlatformError, what: string): string {
  if (e.status === 0 && typeof e.code === 'string') return `${LABEL[type]} could not be reached: ${e.description}`;
  return `${LABEL[type]} refused ${what}: ${e.description} (${codeText(e)})`;
}

/** A platform failure for the API caller: 502 platform_error with the platform's text. */
function platformFailure(type: ChannelKind, e: unknown, what: string, hint = ''): unknown {
  if (!(e instanceof PlatformError)) return e;
  return new AppError(ErrorCodes.PLATFORM, `${describe(type, e, what)}${hint}`, {
    ...(e.retryAfter ? { retryAfterSeconds: e.retryAfter } : {}),
  });
}

/**
 * The platform said these credentials are wrong: a 400 naming the field, in the platform's words.
 * Anything else (unreachable, rate limited, ...) stays a platform failure.
 */
function credentialsRefused(type: ChannelKind, e: unknown, field: (e: PlatformError) => string | null): unknown {
  if (!(e instanceof PlatformError)) return e;
  const f = field(e);
  if (!f) return platformFailure(type, e, 'the credentials');
  return new ValidationError([{ field: `body.credentials.${f}`, message: describe(type, e, 'it') }]);
}

const telegramTokenRefused = (e: PlatformError) => (e.status === 401 || e.status === 404 ? 'botToken' : null);
const viberTokenRefused = (e: PlatformError) => (e.status === 200 && e.code === 2 ? 'authToken' : null);
function messengerRefused(e: PlatformError): string | null {
  if (e.code === 190) return 'pageAccessToken';
  // Graph answers a wrong appsecret_proof with code 100 and says so only in its message.
  if (e.code === 100 && /appsecret_proof/i.test(e.description)) return 'appSecret';
  if (e.code === 100 || e.code === 803) return 'pageId';
  return null;
}

interface Clients {
  fetch?: typeof fetch;
  timeoutMs?: number;
}

const telegramApi = (ctx: ProjectContext, c: TelegramCredentials, o: Clients = {}) =>
  new TelegramApi({ baseUrl: ctx.config.telegramApiUrl, botToken: c.botToken, ...o });
const viberApi = (ctx: ProjectContext, c: ViberCredentials, o: Clients = {}) =>
  new ViberApi({ baseUrl: ctx.config.viberApiUrl, authToken: c.authToken, ...o });
const pageApi = (ctx: ProjectContext, c: MessengerCredentials, o: Clients = {}) =>
  new GraphApi({ baseUrl: ctx.config.graphApiUrl, accessToken: c.pageAccessToken, appSecret: c.appSecret, ...o });
const appApi = (ctx: ProjectContext, c: MessengerCredentials & { appId: string }, o: Clients = {}) =>
  new GraphApi({ baseUrl: ctx.config.graphApiUrl, accessToken: `${c.appId}|${c.appSecret}`, ...o });

/**
 * One bot / Viber account / page can deliver to one webhook only: a second channel for it (here or
 * in another project) would silently take the first one's messages.
 */
async function ensureNotConnected(
  ctx: ProjectContext,
  type: ChannelKind,
  key: 'botId' | 'accountId' | 'pageId',
  value: string | number,
  exceptId?: number,
) {
  const rows = await ctx.store.db
    .selectFrom('channels')
    .select(['id', 'project_id', 'name', 'config', 'enabled'])
    .where('type', '=', type)
    .execute();
  for (const r of rows) {
    const config = readConfig(r);
    if (r.id === exceptId || config.removedAt !== undefined || String(config[key]) !== String(value)) continue;
    throw new ConflictError(
      r.project_id === ctx.project.id
        ? `This ${type === 'messenger' ? 'page' : type === 'viber' ? 'Viber bot' : 'bot'} is already connected as channel ${r.id} ("${r.name}")`
        : `This ${type === 'messenger' ? 'page' : 'bot'} is already connected to another project; remove it there first`,
    );
  }
}

/** What the platform says about the account: checks the credentials; 400 naming the field when refused. */
async function identify(
  ctx: ProjectContext,
  type: ChannelKind,
  creds: Record<string, unknown>,
): Promise<{
  config: ChannelConfig;
  defaultName: string;
  identity?: { key: 'botId' | 'accountId' | 'pageId'; value: string | number };
}> {
  switch (type) {
    case 'telegram': {
      const me = await telegramApi(ctx, creds as TelegramCredentials)
        .getMe()
        .catch((e) => {
          throw credentialsRefused(type, e, telegramTokenRefused);
        });
      return {
        config: { botId: me.id, botUsername: me.username, botName: me.first_name },
        defaultName: `Telegram: @${me.username ?? me.first_name}`,
        identity: { key: 'botId', value: me.id },
      };
    }
    case 'viber': {
      const info = await viberApi(ctx, creds as ViberCredentials)
        .getAccountInfo()
        .catch((e) => {
          throw credentialsRefused(type, e, viberTokenRefused);
        });
      return {
        config: { accountId: info.id, botName: info.name, uri: info.uri, ...(info.icon ? { icon: info.icon } : {}) },
        defaultName: `Viber: ${info.name}`,
        identity: { key: 'accountId', value: info.id },
      };
    }
    case 'messenger': {
      const c = creds as MessengerCredentials;
      const page = await pageApi(ctx, c)
        .getPage(c.pageId)
        .catch((e) => {
          throw credentialsRefused(type, e, messengerRefused);
        });
      if (String(page.id) !== c.pageId) {
        throw new ValidationError([
          { field: 'body.credentials.pageAccessToken', message: `belongs to page ${page.id}, not to page ${c.pageId}` },
        ]);
      }
      return {
        config: { pageId: c.pageId, pageName: page.name, ...(c.appId ? { appId: c.appId } : {}) },
        defaultName: `Messenger: ${page.name}`,
        identity: { key: 'pageId', value: c.pageId },
      };
    }
    case 'sms': {
      const c = creds as SmppCredentials;
      return { config: { protocol: 'smpp', systemId: c.systemId }, defaultName: `SMS: ${c.systemId}@${c.host}` };
    }
    case 'sms-http': {
      const c = creds as SmsHttpCredentials;
      return { config: { protocol: 'http' }, defaultName: `SMS: ${new URL(c.sendUrl).host}` };
    }
  }
}

/** Registers our webhook at the platform (idempotent: the same URL and secret again is fine). */
async function registerWebhook(
  ctx: ProjectContext,
  row: Pick<ChannelRow, 'id' | 'type' | 'webhook_secret'>,
  creds: Record<string, unknown>,
): Promise<Partial<ChannelConfig>> {
  const type = row.type as ChannelKind;
  const url = webhookUrl(ctx, type, row.id);
  // SMPP: we call the SMSC, nothing calls us.
  if (!url) return {};
  // The real platforms take HTTPS webhooks only (the simulator takes HTTP too).
  const httpsHint = url.startsWith('https://')
    ? ''
    : ` — PUBLIC_URL is ${ctx.config.publicUrl}; the platforms call webhooks over HTTPS only`;
  switch (type) {
    case 'telegram':
      await telegramApi(ctx, creds as TelegramCredentials)
        .setWebhook({
          url,
          secret_token: row.webhook_secret ?? undefined,
          allowed_updates: TELEGRAM_ALLOWED_UPDATES,
        })
        .catch((e) => {
          throw platformFailure(
            type,
            e,
            `the webhook ${url}`,
            e instanceof PlatformError && e.status === 400 ? httpsHint : '',
          );
        });
      return {};
    case 'viber':
      await viberApi(ctx, creds as ViberCredentials)
        .setWebhook({ url, event_types: VIBER_EVENT_TYPES, send_name: true, send_photo: true })
        .catch((e) => {
          const hint =
            e instanceof PlatformError && e.code === 1
              ? ` — Viber checks a webhook by calling it and needs HTTP 200 back; PUBLIC_URL (${ctx.config.publicUrl}) must be reachable from the internet over HTTPS`
              : e instanceof PlatformError && e.status === 200
                ? httpsHint
                : '';
          throw platformFailure(type, e, `the webhook ${url}`, hint);
        });
      return {};
    case 'messenger': {
      const c = creds as MessengerCredentials;
      await pageApi(ctx, c)
        .subscribeApp(c.pageId)
        .catch((e) => {
          throw platformFailure(type, e, 'to subscribe the app to the page');
        });
      if (!c.appId) return { appWebhook: 'app-dashboard' };
      await appApi(ctx, { ...c, appId: c.appId })
        .setAppWebhook(c.appId, { callbackUrl: url, verifyToken: c.verifyToken })
        .catch((e) => {
          throw platformFailure(
            type,
            e,
            `the callback URL ${url}`,
            e instanceof PlatformError && e.status === 400 ? httpsHint : '',
          );
        });
      return { appWebhook: 'verified' };
    }
    default:
      return {};
  }
}

async function insertChannel(
  ctx: ProjectContext,
  v: { type: ChannelKind; name: string; creds: object; config: ChannelConfig; webhookSecret: string | null },
): Promise<ChannelRow> {
  const now = ctx.clock();
  return ctx.store.db.transaction().execute(async (trx) => {
    const { id } = await trx
      .insertInto('channels')
      .values({
        project_id: ctx.project.id,
        type: v.type,
        name: v.name,
        credentials: '',
        config: JSON.stringify(v.config),
        webhook_secret: v.webhookSecret,
        enabled: 1,
        created_at: now,
        updated_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await trx
      .updateTable('channels')
      .set({ credentials: sealCredentials(ctx.config.secretKey, ctx.project.id, id, v.creds) })
      .where('project_id', '=', ctx.project.id)
      .where('id', '=', id)
      .execute();
    return trx
      .selectFrom('channels')
      .selectAll()
      .where('project_id', '=', ctx.project.id)
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
  });
}

const deleteRow = (db: Db, projectId: number, id: number) =>
  db.deleteFrom('channels').where('project_id', '=', projectId).where('id', '=', id).execute();

// ---------------------------------------------------------------------------------------------
// Verbs

export async function listChannels(
  ctx: ProjectContext,
  query: { includeRemoved?: boolean } = {},
): Promise<{ items: ChannelView[] }> {
  const rows = await ctx.store.db
    .selectFrom('channels')
    .selectAll()
    .where('project_id', '=', ctx.project.id)
    .orderBy('id')
    .execute();
  return {
    items: rows.filter((r) => query.includeRemoved || !isRemoved(r)).map((r) => channelView(ctx, r)),
  };
}

/** One channel, removed ones included (old dialogs still name them). */
export async function getChannel(ctx: ProjectContext, id: number): Promise<ChannelView> {
  const row = await findChannel(ctx.store, ctx.project.id, id);
  if (!row) throw new NotFoundError('Channel');
  return channelView(ctx, row);
}

export async function createChannel(ctx: ProjectContext, raw: unknown): Promise<ChannelView> {
  const input = parseInput(CreateChannelInput, raw, 'body');
  const type = input.type;
  const creds = input.credentials as Record<string, unknown>;
  const { config, defaultName, identity } = await identify(ctx, type, creds);
  if (identity) await ensureNotConnected(ctx, type, identity.key, identity.value);
  // Telegram echoes this in X-Telegram-Bot-Api-Secret-Token: 43 characters of A-Za-z0-9_-.
  const webhookSecret = type === 'telegram' ? randomBytes(32).toString('base64url') : null;
  const row = await insertChannel(ctx, { type, name: input.name ?? defaultName, creds, config, webhookSecret });
  let registered: Partial<ChannelConfig>;
  try {
    registered = await registerWebhook(ctx, row, creds);
  } catch (e) {
    await deleteRow(ctx.store.db, ctx.project.id, row.id);
    throw e;
  }
  const finalConfig = { ...config, ...registered };
  await ctx.store.db.transaction().execute(async (trx) => {
    if (Object.keys(registered).length > 0) {
      await trx
        .updateTable('channels')
        .set({ config: JSON.stringify(finalConfig) })
        .where('project_id', '=', ctx.project.id)
        .where('id', '=', row.id)
        .execute();
    }
    await audit(ctx, trx, 'channel.create', { type: 'channel', id: row.id }, { type, name: row.name });
  });
  ctx.bus.publish({ type: 'channel.changed', projectId: ctx.project.id, channelId: row.id });
  return channelView(ctx, { ...row, config: JSON.stringify(finalConfig) });
}

export async function updateChannel(ctx: ProjectContext, id: number, raw: unknown): Promise<ChannelView> {
  const patch = parseInput(UpdateChannelInput, raw, 'body');
  const row = await loadLive(ctx, id);
  const type = row.type as ChannelKind;
  // Unreadable credentials (SECRET_KEY changed) are replaced by sending all of them again.
  const current = readCredentials(ctx, row) ?? {};
  let creds = current;
  let config = readConfig(row);
  const changed: string[] = [];

  if (patch.credentials && Object.keys(patch.credentials).length > 0) {
    const partialShape = Object.fromEntries(
      Object.entries(SHAPES[type]).map(([k, s]) => [k, (s as z.ZodType).optional()]),
    ) as z.ZodRawShape;
    const partial = parseInput(credentialsOf(type, partialShape), patch.credentials, 'body.credentials') as Record<
      string,
      unknown
    >;
    const merged = { ...current, ...Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) };
    creds = parseInput(FULL[type], merged, 'body.credentials') as Record<string, unknown>;
    for (const key of Object.keys(creds)) {
      if (creds[key] !== current[key]) changed.push(`credentials.${key}`);
    }
    if (changed.length > 0) {
      if (type === 'messenger' && current.pageId !== undefined && creds.pageId !== current.pageId) {
        throw new ValidationError([
          { field: 'body.credentials.pageId', message: 'cannot change; connect the other page as a new channel' },
        ]);
      }
      const { config: fresh, identity } = await identify(ctx, type, creds);
      const before = identity ? config[identity.key] : undefined;
      if (identity && before !== undefined && String(before) !== String(identity.value)) {
        const field = type === 'telegram' ? 'botToken' : 'authToken';
        throw new ValidationError([
          {
            field: `body.credentials.${field}`,
            message: `belongs to another ${type === 'telegram' ? 'bot' : 'account'} (${fresh.botUsername ?? fresh.botName ?? identity.value}); connect it as a new channel`,
          },
        ]);
      }
      if (identity) await ensureNotConnected(ctx, type, identity.key, identity.value, row.id);
      config = { ...config, ...fresh };
    }
  }
  if (patch.name !== undefined && patch.name !== row.name) changed.push('name');
  const enabling = patch.enabled === true && row.enabled === 0;
  if (patch.enabled !== undefined && (patch.enabled ? 1 : 0) !== row.enabled) changed.push('enabled');
  if (changed.length === 0) return channelView(ctx, row);

  const credsChanged = changed.some((c) => c.startsWith('credentials.'));
  const enabled = patch.enabled === undefined ? row.enabled : patch.enabled ? 1 : 0;
  const mustRegister = enabled === 1 && (enabling || credsChanged);
  const now = ctx.clock();
  const next = {
    name: patch.name ?? row.name,
    enabled,
    credentials: credsChanged ? sealCredentials(ctx.config.secretKey, ctx.project.id, row.id, creds) : row.credentials,
    config: JSON.stringify(config),
    updated_at: now,
  };
  // Committed before the platform is called, like a new channel: Viber signs its check of the
  // webhook with the new token, and our webhook route must already know it.
  await ctx.store.db
    .updateTable('channels')
    .set(next)
    .where('project_id', '=', ctx.project.id)
    .where('id', '=', row.id)
    .execute();
  if (mustRegister) {
    try {
      const registered = await registerWebhook(ctx, row, creds);
      config = { ...config, ...registered };
      next.config = JSON.stringify(config);
    } catch (e) {
      await ctx.store.db
        .updateTable('channels')
        .set({
          name: row.name,
          enabled: row.enabled,
          credentials: row.credentials,
          config: row.config,
          updated_at: row.updated_at,
        })
        .where('project_id', '=', ctx.project.id)
        .where('id', '=', row.id)
        .execute();
      throw e;
    }
  }
  await ctx.store.db.transaction().execute(async (trx) => {
    await trx
      .updateTable('channels')
      .set({ config: next.config })
      .where('project_id', '=', ctx.project.id)
      .where('id', '=', row.id)
      .execute();
    await audit(ctx, trx, 'channel.update', { type: 'channel', id: row.id }, { changed });
  });
  ctx.bus.publish({ type: 'channel.changed', projectId: ctx.project.id, channelId: row.id });
  return channelView(ctx, { ...row, ...next });
}

/** Undoes the webhook at the platform where it still points at us; never throws for the platform. */
async function unregisterWebhook(
  ctx: ProjectContext,
  row: ChannelRow,
): Promise<{ action: string; ok: boolean; message: string } | null> {
  const type = row.type as ChannelKind;
  const url = webhookUrl(ctx, type, row.id);
  const creds = readCredentials(ctx, row);
  if (!creds) {
    return {
      action: 'none',
      ok: false,
      message: 'The stored credentials cannot be decrypted; nothing was undone at the platform',
    };
  }
  const failed = (action: string, e: unknown) => {
    if (!(e instanceof PlatformError)) throw e;
    return { action, ok: false, message: describe(type, e, action) };
  };
  switch (type) {
    case 'telegram': {
      if (typeof creds.botToken !== 'string') return null;
      const api = telegramApi(ctx, creds as TelegramCredentials);
      try {
        const info = await api.getWebhookInfo();
        if (info.url !== url) {
          return {
            action: 'deleteWebhook',
            ok: true,
            message: info.url
              ? `The bot's webhook points elsewhere (${info.url}); left as it is`
              : 'No webhook was set',
          };
        }
        await api.deleteWebhook();
        return { action: 'deleteWebhook', ok: true, message: 'The webhook was deleted at Telegram' };
      } catch (e) {
        return failed('deleteWebhook', e);
      }
    }
    case 'viber': {
      if (typeof creds.authToken !== 'string') return null;
      const api = viberApi(ctx, creds as ViberCredentials);
      try {
        const info = await api.getAccountInfo();
        if (info.webhook !== url) {
          return {
            action: 'set_webhook',
            ok: true,
            message: info.webhook
              ? `The account's webhook points elsewhere (${info.webhook}); left as it is`
              : 'No webhook was set',
          };
        }
        await api.removeWebhook();
        return { action: 'set_webhook', ok: true, message: 'The webhook was removed at Viber' };
      } catch (e) {
        return failed('set_webhook', e);
      }
    }
    case 'messenger': {
      if (typeof creds.pageId !== 'string') return null;
      try {
        await pageApi(ctx, creds as MessengerCredentials).unsubscribeApp(creds.pageId);
        return { action: 'unsubscribe', ok: true, message: 'The app was unsubscribed from the page' };
      } catch (e) {
        return failed('unsubscribe', e);
      }
    }
    default:
      return null;
  }
}

export async function removeChannel(ctx: ProjectContext, id: number): Promise<z.infer<typeof RemoveChannelSchema>> {
  const row = await loadLive(ctx, id);
  const platform = await unregisterWebhook(ctx, row);
  const now = ctx.clock();
  const result = await ctx.store.db.transaction().execute(async (trx) => {
    const p = ctx.project.id;
    const referenced =
      (await trx
        .selectFrom('dialogs')
        .select('id')
        .where('project_id', '=', p)
        .where('channel_id', '=', row.id)
        .limit(1)
        .executeTakeFirst()) !== undefined ||
      (await trx
        .selectFrom('client_identities')
        .select('id')
        .where('project_id', '=', p)
        .where('channel_id', '=', row.id)
        .limit(1)
        .executeTakeFirst()) !== undefined;
    const numbers = await trx
      .deleteFrom('numbers')
      .where('project_id', '=', p)
      .where('channel_id', '=', row.id)
      .executeTakeFirst();
    if (referenced) {
      await trx
        .updateTable('channels')
        .set({
          enabled: 0,
          credentials: '',
          webhook_secret: null,
          config: JSON.stringify({ ...readConfig(row), removedAt: now }),
          updated_at: now,
        })
        .where('project_id', '=', p)
        .where('id', '=', row.id)
        .execute();
    } else {
      await deleteRow(trx, p, row.id);
    }
    const result = {
      id: row.id,
      removed: referenced ? ('soft' as const) : ('hard' as const),
      numbersRemoved: Number(numbers.numDeletedRows),
      platform,
    };
    await audit(
      ctx,
      trx,
      'channel.remove',
      { type: 'channel', id: row.id },
      {
        name: row.name,
        type: row.type,
        removed: result.removed,
        numbersRemoved: result.numbersRemoved,
        platform: platform && { action: platform.action, ok: platform.ok },
      },
    );
    return result;
  });
  ctx.bus.publish({ type: 'channel.changed', projectId: ctx.project.id, channelId: row.id });
  return result;
}

// ---------------------------------------------------------------------------------------------
// Connection test

export async function testChannel(
  ctx: ProjectContext,
  id: number,
  opts: { timeoutMs?: number } = {},
): Promise<ChannelTestResult> {
  const row = await loadLive(ctx, id);
  const type = row.type as ChannelKind;
  const creds = readCredentials(ctx, row);
  const started = performance.now();
  let result: Omit<ChannelTestResult, 'checkedAt' | 'latencyMs'>;
  let configUpdate: Partial<ChannelConfig> = {};
  try {
    const parsed = FULL[type].safeParse(creds ?? {});
    if (!creds) {
      result = {
        ok: false,
        message: 'The stored credentials cannot be decrypted (was SECRET_KEY changed?); enter them again',
      };
    } else if (!parsed.success) {
      result = { ok: false, message: 'The channel has no complete credentials; set them with PATCH first' };
    } else {
      ({ result, configUpdate } = await probe(ctx, row, parsed.data as Record<string, unknown>, opts));
    }
  } catch (e) {
    if (!(e instanceof PlatformError)) throw e;
    result = {
      ok: false,
      message: describe(type, e, 'the connection'),
      error: { platform: e.platform, status: e.status, code: e.code },
    };
  }
  const latencyMs = Math.round(performance.now() - started);
  const at = ctx.clock();
  const config = { ...readConfig(row), ...configUpdate, lastTest: { at, ok: result.ok, message: result.message } };
  await ctx.store.db.transaction().execute(async (trx) => {
    await trx
      .updateTable('channels')
      .set({ config: JSON.stringify(config) })
      .where('project_id', '=', ctx.project.id)
      .where('id', '=', row.id)
      .execute();
    await audit(ctx, trx, 'channel.test', { type: 'channel', id: row.id }, { ok: result.ok, message: result.message });
  });
  return { ...result, checkedAt: iso(at), latencyMs };
}

async function probe(
  ctx: ProjectContext,
  row: ChannelRow,
  creds: Record<string, unknown>,
  opts: { timeoutMs?: number },
): Promise<{ result: Omit<ChannelTestResult, 'checkedAt' | 'latencyMs'>; configUpdate: Partial<ChannelConfig> }> {
  const type = row.type as ChannelKind;
  const expected = webhookUrl(ctx, type, row.id) ?? '';
  const clients: Clients = opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {};
  const webhookVerdict = (
    actual: string | null,
    extra: { lastError?: string | null; pendingUpdates?: number } = {},
  ) => ({
    expected,
    actual: actual || null,
    registered: actual === expected,
    ...extra,
  });
  const notRegistered = (who: string, actual: string | null) =>
    actual
      ? `${who} delivers to ${actual}, not to this channel's webhook ${expected}; disable and enable the channel to register it again`
      : `No webhook is registered at ${who}; disable and enable the channel to register it again`;
  switch (type) {
    case 'telegram': {
      const api = telegramApi(ctx, creds as TelegramCredentials, clients);
      const me = await api.getMe();
      const info = await api.getWebhookInfo();
      const webhook = webhookVerdict(info.url, {
        lastError: info.last_error_message ?? null,
        pendingUpdates: info.pending_update_count,
      });
      return {
        result: {
          ok: webhook.registered,
          message: webhook.registered
            ? `Connected to @${me.username}; the webhook is registered${info.last_error_message ? ` (Telegram's last delivery error: ${info.last_error_message})` : ''}`
            : notRegistered('Telegram', info.url),
          account: { id: me.id, username: me.username ?? null, name: me.first_name },
          webhook,
        },
        configUpdate: { botUsername: me.username, botName: me.first_name },
      };
    }
    case 'viber': {
      const info = await viberApi(ctx, creds as ViberCredentials, clients).getAccountInfo();
      const webhook = webhookVerdict(info.webhook ?? null);
      return {
        result: {
          ok: webhook.registered,
          message: webhook.registered
            ? `Connected to the Viber bot "${info.name}"; the webhook is registered`
            : notRegistered('Viber', info.webhook ?? null),
          account: {
            id: info.id,
            name: info.name,
            uri: info.uri,
            ...(info.subscribers_count !== undefined ? { subscribers: info.subscribers_count } : {}),
          },
          webhook,
        },
        configUpdate: { botName: info.name, uri: info.uri },
      };
    }
    case 'messenger': {
      const c = creds as MessengerCredentials;
      const page = await pageApi(ctx, c, clients).getPage(c.pageId);
      return {
        result: {
          ok: true,
          message: `Connected to the page "${page.name}"`,
          account: { id: page.id, name: page.name },
        },
        configUpdate: { pageName: page.name },
      };
    }
    case 'sms': {
      const c = creds as SmppCredentials;
      const bound = await smppBindProbe(c, opts.timeoutMs ?? 10_000);
      return {
        result: {
          ok: true,
          message: `Bound to ${c.host}:${c.port} as ${c.systemId} (bind_transceiver, then unbind)`,
          account: { smscSystemId: bound.smscSystemId },
        },
        configUpdate: {},
      };
    }
    case 'sms-http': {
      const c = creds as SmsHttpCredentials;
      const status = await httpReachable(c.sendUrl, opts.timeoutMs ?? 10_000);
      return {
        result: {
          ok: status < 500,
          message:
            status < 500
              ? `The gateway answers at ${new URL(c.sendUrl).host} (HTTP ${status})`
              : `The gateway at ${new URL(c.sendUrl).host} answers HTTP ${status}`,
          account: { httpStatus: status },
        },
        configUpdate: {},
      };
    }
  }
}

/** Any HTTP answer at all from the gateway's send URL (a HEAD request, nothing is sent). */
async function httpReachable(url: string, timeoutMs: number): Promise<number> {
  try {
    const res = await fetch(url, { method: 'HEAD', redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return res.status;
  } catch (e) {
    const err = e as { name?: string; cause?: { code?: string } };
    const timeout = err.name === 'TimeoutError' || err.name === 'AbortError';
    const code = timeout ? 'ETIMEDOUT' : (err.cause?.code ?? 'network_error');
    throw new PlatformError({
      platform: 'sms-http',
      status: 0,
      code,
      description: timeout
        ? `No answer from ${new URL(url).host} in ${timeoutMs} ms`
        : `Could not reach ${new URL(url).host} (${code})`,
    });
  }
}

// The `smpp` package has no types; the little used here is typed locally (as simulator/smpp-pdu.ts does).
interface SmppPdu {
  command: string;
  command_status: number;
  system_id?: string;
  response(options?: Record<string, unknown>): SmppPdu;
}
interface SmppSession {
  on(event: string, listener: (arg: never) => void): void;
  send(pdu: SmppPdu): void;
  bind_transceiver(options: Record<string, unknown>, cb: (pdu: SmppPdu) => void): void;
  unbind(cb: (pdu: SmppPdu) => void): void;
  destroy(): void;
}
interface SmppClientModule {
  connect(options: Record<string, unknown>, listener?: (session: SmppSession) => void): SmppSession;
  errors: Record<string, number>;
}
const smpp = createRequire(import.meta.url)('smpp') as SmppClientModule;
const ESME_RX_T_APPN = 0x64;

function smppStatusName(status: number): string {
  const name = Object.entries(smpp.errors).find(([, v]) => v === status)?.[0];
  return `${name ?? 'command_status'} 0x${status.toString(16).padStart(8, '0')}`;
}

/**
 * TCP connect, bind_transceiver, unbind — the SMSC's answer to "do these credentials work?".
 * A deliver_sm the SMSC pushes meanwhile is answered with ESME_RX_T_APPN (temporary application
 * error), so that the SMSC keeps it for the channel's real session.
 */
function smppBindProbe(c: SmppCredentials, timeoutMs: number): Promise<{ smscSystemId: string | null }> {
  const where = `${c.host}:${c.port}`;
  return new Promise((resolve, reject) => {
    let done = false;
    const session = smpp.connect({
      host: c.host,
      port: c.port,
      tls: c.tls ?? false,
      connectTimeout: timeoutMs,
    });
    const finish = (err: PlatformError | null, value?: { smscSystemId: string | null }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      session.destroy();
      if (err) reject(err);
      else resolve(value!);
    };
    const transport = (code: string, description: string) =>
      new PlatformError({ platform: 'smpp', status: 0, code, description });
    const timer = setTimeout(
      () => finish(transport('ETIMEDOUT', `No answer from ${where} in ${timeoutMs} ms`)),
      timeoutMs,
    );
    session.on('error', (e: { code?: string; message?: string }) =>
      finish(transport(e.code ?? 'network_error', `Could not reach ${where} (${e.code ?? e.message ?? 'error'})`)),
    );
    session.on('close', () =>
      finish(transport('ECONNRESET', `${where} closed the connection before the bind was answered`)),
    );
    session.on('deliver_sm', (pdu: SmppPdu) => session.send(pdu.response({ command_status: ESME_RX_T_APPN })));
    session.on('enquire_link', (pdu: SmppPdu) => session.send(pdu.response()));
    // Over TLS the bind waits for the handshake.
    session.on(c.tls ? 'secureConnect' : 'connect', () => {
      session.bind_transceiver(
        {
          system_id: c.systemId,
          password: c.password,
          system_type: c.systemType ?? '',
          interface_version: 0x34,
        },
        (pdu) => {
          if (pdu.command_status !== 0) {
            finish(
              new PlatformError({
                platform: 'smpp',
                status: 200,
                code: pdu.command_status,
                description: `bind_transceiver was refused`,
                transient: false,
              }),
            );
            return;
          }
          const smscSystemId = typeof pdu.system_id === 'string' && pdu.system_id ? pdu.system_id : null;
          session.unbind(() => finish(null, { smscSystemId }));
        },
      );
    });
  });
}
