import { randomBytes, randomUUID } from 'node:crypto';
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { z } from 'zod';
import { classifyChannelGroup } from '../core/attribution.js';
import { ConflictError, type FieldIssue, NotFoundError, ValidationError } from '../core/errors.js';
import { deepLink, readConfig } from './channels.js';
import type { AppContext } from './context.js';
import { type ProjectSettings, settingsView } from './project-settings.js';
import { receiveInbound } from './receive-inbound.js';

/**
 * The website widget's public API (issue 5, SPEC §4.7, §7): a project found by its public key
 * (the key is in the page's snippet: it identifies, it does not authorise), its messengers with
 * ready deep links, visits with an unguessable token that the deep link carries into the dialog
 * (receive-inbound attaches the visit), and callback requests.
 *
 * A callback request becomes an SMS dialog for the visitor's number on the project's first SMS
 * channel, with the request as the client's first message ("Prośba o oddzwonienie: <name>"): it
 * lands in the workspace queue as new, and the manager answers it by SMS or calls. It goes
 * through the one inbound pipeline, so the visit, the queue and the realtime events behave exactly
 * as for an SMS. Without an SMS channel there is no way to answer it: 409, and the widget hides the form.
 */

export const MESSENGERS = ['telegram', 'viber', 'messenger'] as const;
export type Messenger = (typeof MESSENGERS)[number];

/** Telegram's `start` parameter allows at most 64 characters of A-Z a-z 0-9 _ -. */
const TOKEN_BYTES = 24; // 32 base64url characters, 192 bits
export const VISIT_TTL_MS = 7 * 24 * 60 * 60 * 1000;
export const VISIT_TOKEN = /^[A-Za-z0-9_-]{16,64}$/;

export interface WidgetProject {
  id: number;
  settings: ProjectSettings;
}

/** The project of a public key whose widget is switched on; 404 otherwise (unknown and off look alike). */
export async function findWidgetProject(ctx: AppContext, publicKey: string): Promise<WidgetProject> {
  const row =
    publicKey.length <= 100
      ? await ctx.store.db
          .selectFrom('projects')
          .select(['id', 'name', 'time_zone', 'language', 'public_key', 'settings'])
          .where('public_key', '=', publicKey)
          .executeTakeFirst()
      : undefined;
  if (!row) throw new NotFoundError('Widget');
  const settings = settingsView(ctx, row);
  if (!settings.services.widget) throw new NotFoundError('Widget');
  return { id: row.id, settings };
}

/** Whether a browser origin may call this project's widget API. */
export function originAllowed(project: WidgetProject, origin: string | undefined): boolean {
  return origin !== undefined && project.settings.widgetAllowedOrigins.includes(origin);
}

interface LiveChannel {
  id: number;
  type: string;
  link: string | null;
}

async function liveChannels(ctx: AppContext, projectId: number): Promise<LiveChannel[]> {
  const rows = await ctx.store.db
    .selectFrom('channels')
    .select(['id', 'type', 'config'])
    .where('project_id', '=', projectId)
    .where('enabled', '=', 1)
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ id: r.id, type: r.type, link: deepLink(r.type, readConfig(r)) }));
}

/** The first connected, switched-on channel of each messenger with a deep link. */
function messengerLinks(project: WidgetProject, channels: LiveChannel[]): Map<Messenger, string> {
  const out = new Map<Messenger, string>();
  if (!project.settings.services.messengers) return out;
  for (const c of channels) {
    const type = c.type as Messenger;
    if ((MESSENGERS as readonly string[]).includes(c.type) && c.link && !out.has(type)) out.set(type, c.link);
  }
  return out;
}

function smsChannel(project: WidgetProject, channels: LiveChannel[]): LiveChannel | undefined {
  if (!project.settings.services.sms) return undefined;
  return channels.find((c) => c.type === 'sms' || c.type === 'sms-http');
}

export const WidgetConfigSchema = z.object({
  messengers: z.array(z.object({ type: z.enum(MESSENGERS), link: z.string() })),
  callbackForm: z.boolean().describe('The callback form is on and the project has an SMS channel to answer by'),
  color: z.string(),
  greeting: z.string().nullable(),
  position: z.string(),
});
export type WidgetConfig = z.infer<typeof WidgetConfigSchema>;

export async function widgetConfig(ctx: AppContext, project: WidgetProject): Promise<WidgetConfig> {
  const channels = await liveChannels(ctx, project.id);
  const w = project.settings.widget;
  return {
    messengers: [...messengerLinks(project, channels)].map(([type, link]) => ({ type, link })),
    callbackForm: w.callbackForm && smsChannel(project, channels) !== undefined,
    color: w.color,
    greeting: w.greeting,
    position: w.position,
  };
}

// ---------------------------------------------------------------------------------------------
// Visits

const text = (max: number) =>
  z.string({ error: 'must be text' }).trim().max(max, `must be at most ${max} characters`).optional();

const pageUrl = (max: number) =>
  z
    .string({ error: 'must be a URL' })
    .trim()
    .max(max, `must be at most ${max} characters`)
    .refine((v) => v === '' || /^https?:\/\/[^\s]+$/i.test(v), 'must be an http(s) URL');

export const CLICK_IDS = ['gclid', 'gbraid', 'wbraid', 'fbclid', 'msclkid', 'yclid'] as const;

export const VisitInput = z.strictObject({
  landingUrl: pageUrl(2000).refine((v) => v !== '', 'must not be empty'),
  referrer: pageUrl(2000).optional(),
  gaClientId: z
    .string({ error: 'must be text' })
    .regex(/^\d{1,20}\.\d{1,20}$/, 'must be a GA client id such as 1234567890.1700000000')
    .optional(),
  messenger: z.enum(MESSENGERS, { error: 'must be telegram, viber or messenger' }).optional(),
  utmSource: text(200),
  utmMedium: text(200),
  utmCampaign: text(200),
  utmTerm: text(200),
  utmContent: text(200),
  gclid: text(500),
  gbraid: text(500),
  wbraid: text(500),
  fbclid: text(500),
  msclkid: text(500),
  yclid: text(500),
});
export type VisitInput = z.infer<typeof VisitInput>;

export const VisitResultSchema = z.object({
  token: z.string().describe('URL-safe, at most 64 characters, valid for 7 days'),
  expiresAt: z.string(),
  links: z.object({ telegram: z.string().optional(), viber: z.string().optional(), messenger: z.string().optional() }),
});
export type VisitResult = z.infer<typeof VisitResultSchema>;

function withToken(type: Messenger, link: string, token: string): string {
  if (type === 'telegram') return `${link}?start=${token}`;
  if (type === 'viber') return `${link}&context=${token}`;
  return `${link}?ref=${token}`;
}

const orNull = (s: string | undefined) => (s ? s : null);

export async function recordVisit(ctx: AppContext, project: WidgetProject, input: VisitInput): Promise<VisitResult> {
  const now = ctx.clock();
  const token = randomBytes(TOKEN_BYTES).toString('base64url');
  const clickIds =
    CLICK_IDS.filter((k) => input[k])
      .map((k) => `${k}=${encodeURIComponent(input[k]!)}`)
      .join('&') || null;
  const channelGroup = classifyChannelGroup({
    utmSource: input.utmSource,
    utmMedium: input.utmMedium,
    utmCampaign: input.utmCampaign,
    referrer: input.referrer,
    clickIds,
    landingUrl: input.landingUrl,
  });
  const expiresAt = now + VISIT_TTL_MS;
  await ctx.store.db
    .insertInto('visits')
    .values({
      project_id: project.id,
      token,
      utm_source: orNull(input.utmSource),
      utm_medium: orNull(input.utmMedium),
      utm_campaign: orNull(input.utmCampaign),
      utm_term: orNull(input.utmTerm),
      utm_content: orNull(input.utmContent),
      referrer: orNull(input.referrer),
      landing_url: input.landingUrl,
      ga_client_id: input.gaClientId ?? null,
      click_ids: clickIds,
      channel_group: channelGroup,
      messenger: input.messenger ?? null,
      created_at: now,
      expires_at: expiresAt,
    })
    .execute();
  const links: VisitResult['links'] = {};
  for (const [type, link] of messengerLinks(project, await liveChannels(ctx, project.id))) {
    links[type] = withToken(type, link, token);
  }
  return { token, expiresAt: new Date(expiresAt).toISOString(), links };
}

// ---------------------------------------------------------------------------------------------
// Callback requests

export const CallbackInput = z.strictObject({
  name: z
    .string({ error: 'must be text' })
    .trim()
    .min(1, 'must not be empty')
    .max(100, 'must be at most 100 characters'),
  phone: z.string({ error: 'must be a phone number' }).trim().max(40, 'must be at most 40 characters'),
  consent: z.literal(true, { error: 'must be true: the visitor agrees to be called back' }),
  visitToken: z.string({ error: 'must be text' }).regex(VISIT_TOKEN, 'must be a visit token').optional(),
});
export type CallbackInput = z.infer<typeof CallbackInput>;

export const CallbackResultSchema = z.object({ ok: z.literal(true) });

export async function requestCallback(
  ctx: AppContext,
  project: WidgetProject,
  input: CallbackInput,
): Promise<{ ok: true }> {
  const parsed = parsePhoneNumberFromString(input.phone, 'PL');
  if (!parsed?.isValid()) {
    throw new ValidationError([{ field: 'body.phone', message: 'is not a valid phone number' } satisfies FieldIssue]);
  }
  const channels = await liveChannels(ctx, project.id);
  const sms = project.settings.widget.callbackForm ? smsChannel(project, channels) : undefined;
  if (!sms) {
    throw new ConflictError('Callback requests need an SMS channel that is switched on; this project has none');
  }
  const number = await ctx.store.db
    .selectFrom('numbers')
    .select('id')
    .where('project_id', '=', project.id)
    .where('channel_id', '=', sms.id)
    .where('sms_enabled', '=', 1)
    .orderBy('id')
    .executeTakeFirst();
  const phone = parsed.number;
  const [outcome] = await receiveInbound(ctx, { id: sms.id, projectId: project.id, type: sms.type as 'sms' }, [
    {
      kind: 'message',
      platformMessageId: `widget-callback:${randomUUID()}`,
      externalUserId: phone,
      displayName: input.name,
      phone,
      text: `Prośba o oddzwonienie: ${input.name}`,
      sentAt: ctx.clock(),
      deepLinkToken: input.visitToken,
      numberId: number?.id,
    },
  ]);
  if (outcome?.outcome !== 'stored') {
    throw new ConflictError('Callback requests need an SMS channel that is switched on; this project has none');
  }
  return { ok: true };
}
