import { z } from 'zod';
import { NotFoundError } from '../core/errors.js';
import { isValidTimeZone } from '../core/time.js';
import { audit } from './audit.js';
import type { AppContext, ProjectContext } from './context.js';
import { parseInput } from '../core/validate.js';
import { forgetProjectServices } from './service-switches.js';

/**
 * Project settings (issue 4 §4, SPEC §4.3, R6, R8): name, time zone and language (columns of
 * `projects`), and in `projects.settings` (JSON) the distribution mode, auto-close, the service
 * switches and the outbound-only prefixes (read by services/numbers.ts). Keys this module does not
 * know are kept as they are, so other features can keep their settings beside these.
 *
 * Distribution mode and auto-close are stored here; the workspace and the jobs enforce them later.
 */

export const LANGUAGES = ['pl', 'en', 'uk'] as const;
export const DISTRIBUTION_MODES = ['first_to_answer', 'round_robin', 'manual'] as const;
export const SERVICES = ['sms', 'widget', 'messengers', 'workspace'] as const;
export type Service = (typeof SERVICES)[number];
export type DistributionMode = (typeof DISTRIBUTION_MODES)[number];

const TimeZone = z
  .string({ error: 'must be a time zone such as Europe/Warsaw' })
  .trim()
  .refine(isValidTimeZone, 'is not a time zone; use an IANA name such as Europe/Warsaw')
  .transform(spellTimeZone);

/**
 * The usual spelling of a zone typed in another case ("europe/warsaw" → "Europe/Warsaw"). Not
 * Intl's resolvedOptions(), which turns current names into old links (Europe/Kyiv → Europe/Kiev).
 */
function spellTimeZone(tz: string): string {
  const lower = tz.toLowerCase();
  return Intl.supportedValuesOf('timeZone').find((z) => z.toLowerCase() === lower) ?? tz;
}

const Prefix = z
  .string({ error: 'must be digits' })
  .trim()
  .regex(/^\+?\d{1,15}$/, 'must be the digits an E.164 number starts with, e.g. 48799')
  .transform((p) => p.replace(/^\+/, ''));

const bool = z.boolean({ error: 'must be true or false' });

export const WIDGET_POSITIONS = ['bottom-right', 'bottom-left'] as const;

/** A website origin as browsers send it: scheme, host and port only (no path, no trailing slash). */
const Origin = z
  .string({ error: 'must be an origin such as https://sklep.pl' })
  .trim()
  .max(200, 'must be at most 200 characters')
  .transform((v, c) => {
    try {
      const u = new URL(v);
      if ((u.protocol === 'https:' || u.protocol === 'http:') && !u.username && u.pathname === '/' && !u.search) {
        return u.origin;
      }
    } catch {}
    c.addIssue({ code: 'custom', message: 'must be an origin such as https://sklep.pl (no path)' });
    return z.NEVER;
  });

const WidgetAppearance = z.strictObject(
  {
    color: z
      .string({ error: 'must be a colour such as #1c7ed6' })
      .regex(/^#[0-9a-fA-F]{6}$/, 'must be a colour such as #1c7ed6')
      .optional(),
    greeting: z
      .string({ error: 'must be text' })
      .trim()
      .max(200, 'must be at most 200 characters')
      .nullable()
      .optional()
      .describe('null: the default greeting in the page language'),
    position: z.enum(WIDGET_POSITIONS, { error: 'must be bottom-right or bottom-left' }).optional(),
    callbackForm: bool.optional(),
  },
  { error: 'must be an object: color, greeting, position, callbackForm' },
);

export const UpdateProjectSettingsInput = z.strictObject({
  name: z
    .string({ error: 'must be text' })
    .trim()
    .min(1, 'must not be empty')
    .max(200, 'must be at most 200 characters')
    .optional(),
  timeZone: TimeZone.optional().describe('IANA time zone: dates of the log, the export and the workspace'),
  language: z.enum(LANGUAGES, { error: 'must be pl, en or uk' }).optional(),
  distributionMode: z
    .enum(DISTRIBUTION_MODES, { error: 'must be first_to_answer, round_robin or manual' })
    .optional()
    .describe(
      'How new dialogs reach managers: first_to_answer (everyone is notified, the first reply takes it), round_robin (each new dialog goes to the online manager who waited longest), manual (a supervisor assigns)',
    ),
  autoCloseHours: z
    .number({ error: 'must be a number of hours (1–720) or null' })
    .int('must be a whole number of hours')
    .min(1, 'must be at least 1 hour')
    .max(720, 'must be at most 720 hours (30 days)')
    .nullable()
    .optional()
    .describe('Close a dialog after this many hours without activity; null: never'),
  services: z
    .strictObject(
      { sms: bool.optional(), widget: bool.optional(), messengers: bool.optional(), workspace: bool.optional() },
      { error: 'must be an object of switches: sms, widget, messengers, workspace' },
    )
    .optional()
    .describe('Service switches; the ones left out keep their value'),
  smsOutboundOnlyPrefixes: z
    .array(Prefix, { error: 'must be a list of prefixes, or null for the installation default' })
    .max(100, 'must be at most 100 prefixes')
    .nullable()
    .optional()
    .describe('E.164 prefixes that send as "SMS" only (R6); [] none; null the installation default'),
  widgetAllowedOrigins: z
    .array(Origin, { error: 'must be a list of origins such as https://sklep.pl' })
    .max(50, 'must be at most 50 origins')
    .optional()
    .describe('Websites (origins) allowed to use the widget API (CORS); [] none'),
  widget: WidgetAppearance.optional().describe('Widget appearance; the keys left out keep their value'),
});
export type UpdateProjectSettingsInput = z.input<typeof UpdateProjectSettingsInput>;

export const ProjectSettingsSchema = z.object({
  name: z.string(),
  timeZone: z.string(),
  language: z.enum(LANGUAGES),
  distributionMode: z.enum(DISTRIBUTION_MODES),
  autoCloseHours: z.number().int().nullable(),
  services: z.object({ sms: z.boolean(), widget: z.boolean(), messengers: z.boolean(), workspace: z.boolean() }),
  smsOutboundOnlyPrefixes: z.array(z.string()).nullable().describe('null: the installation default applies'),
  defaultSmsOutboundOnlyPrefixes: z.array(z.string()).describe('SMS_OUTBOUND_ONLY_PREFIXES of the installation'),
  publicKey: z.string().describe('The widget key (public: it is in the website snippet)'),
  widgetAllowedOrigins: z.array(z.string()),
  widget: z.object({
    color: z.string(),
    greeting: z.string().nullable(),
    position: z.enum(WIDGET_POSITIONS),
    callbackForm: z.boolean(),
  }),
});
export type ProjectSettings = z.infer<typeof ProjectSettingsSchema>;

function readJson(text: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text || '{}') as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

interface ProjectRow {
  name: string;
  time_zone: string;
  language: string;
  public_key: string;
  settings: string;
}

/** The settings with their defaults; a malformed stored value reads as its default. */
export function settingsView(ctx: AppContext, row: ProjectRow): ProjectSettings {
  const s = readJson(row.settings);
  const services = (s.services && typeof s.services === 'object' ? s.services : {}) as Record<string, unknown>;
  const hours = s.autoCloseHours;
  const rawPrefixes = s.smsOutboundOnlyPrefixes;
  const prefixes = typeof rawPrefixes === 'string' ? rawPrefixes.split(',').filter((x) => x.trim()) : rawPrefixes;
  const parsedPrefixes = z.array(Prefix).safeParse(prefixes);
  return {
    name: row.name,
    timeZone: row.time_zone,
    language: (LANGUAGES as readonly string[]).includes(row.language)
      ? (row.language as ProjectSettings['language'])
      : 'pl',
    distributionMode: (DISTRIBUTION_MODES as readonly unknown[]).includes(s.distributionMode)
      ? (s.distributionMode as DistributionMode)
      : 'first_to_answer',
    autoCloseHours: typeof hours === 'number' && Number.isInteger(hours) && hours >= 1 && hours <= 720 ? hours : null,
    services: Object.fromEntries(SERVICES.map((k) => [k, services[k] !== false])) as ProjectSettings['services'],
    smsOutboundOnlyPrefixes: parsedPrefixes.success ? parsedPrefixes.data : null,
    defaultSmsOutboundOnlyPrefixes: [...ctx.config.smsOutboundOnlyPrefixes],
    publicKey: row.public_key,
    widgetAllowedOrigins: z
      .array(Origin)
      .max(50)
      .catch([])
      .parse(s.widgetAllowedOrigins ?? []),
    widget: widgetView(s.widget),
  };
}

const DEFAULT_WIDGET_COLOR = '#1c7ed6';

function widgetView(raw: unknown): ProjectSettings['widget'] {
  const w = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  return {
    color: typeof w.color === 'string' && /^#[0-9a-fA-F]{6}$/.test(w.color) ? w.color : DEFAULT_WIDGET_COLOR,
    greeting: typeof w.greeting === 'string' && w.greeting.trim() ? w.greeting.slice(0, 200) : null,
    position: (WIDGET_POSITIONS as readonly unknown[]).includes(w.position)
      ? (w.position as ProjectSettings['widget']['position'])
      : 'bottom-right',
    callbackForm: w.callbackForm !== false,
  };
}

async function loadRow(ctx: AppContext, projectId: number) {
  const row = await ctx.store.db
    .selectFrom('projects')
    .select(['name', 'time_zone', 'language', 'public_key', 'settings'])
    .where('id', '=', projectId)
    .executeTakeFirst();
  if (!row) throw new NotFoundError('Project');
  return row;
}

export async function readProjectSettings(ctx: AppContext, projectId: number): Promise<ProjectSettings> {
  return settingsView(ctx, await loadRow(ctx, projectId));
}

export async function getProjectSettings(ctx: ProjectContext): Promise<ProjectSettings> {
  return readProjectSettings(ctx, ctx.project.id);
}

export async function updateProjectSettings(ctx: ProjectContext, raw: unknown): Promise<ProjectSettings> {
  const input = parseInput(UpdateProjectSettingsInput, raw);
  const p = ctx.project.id;
  let identityChanged = false;
  const result = await ctx.store.db.transaction().execute(async (trx) => {
    let q = trx
      .selectFrom('projects')
      .select(['name', 'time_zone', 'language', 'public_key', 'settings'])
      .where('id', '=', p);
    // Two admins saving at once: the second merges into the first's result, not into a stale copy.
    if (ctx.store.dialect === 'postgres') q = q.forUpdate();
    const row = await q.executeTakeFirst();
    if (!row) throw new NotFoundError('Project');
    const before = settingsView(ctx, row);
    const json = readJson(row.settings);
    if (input.distributionMode !== undefined) json.distributionMode = input.distributionMode;
    if (input.autoCloseHours !== undefined) json.autoCloseHours = input.autoCloseHours;
    if (input.services !== undefined) {
      json.services = {
        ...before.services,
        ...Object.fromEntries(Object.entries(input.services).filter(([, v]) => v !== undefined)),
      };
    }
    if (input.smsOutboundOnlyPrefixes !== undefined) {
      if (input.smsOutboundOnlyPrefixes === null) delete json.smsOutboundOnlyPrefixes;
      else json.smsOutboundOnlyPrefixes = [...new Set(input.smsOutboundOnlyPrefixes)];
    }
    if (input.widgetAllowedOrigins !== undefined) json.widgetAllowedOrigins = [...new Set(input.widgetAllowedOrigins)];
    if (input.widget !== undefined) {
      const w = {
        ...before.widget,
        ...Object.fromEntries(Object.entries(input.widget).filter(([, v]) => v !== undefined)),
      };
      json.widget = { ...w, greeting: w.greeting ? w.greeting : null };
    }
    const next: ProjectRow = {
      ...row,
      name: input.name ?? row.name,
      time_zone: input.timeZone ?? row.time_zone,
      language: input.language ?? row.language,
      settings: JSON.stringify(json),
    };
    const after = settingsView(ctx, next);
    const changed = (Object.keys(after) as (keyof ProjectSettings)[]).filter(
      (k) => JSON.stringify(after[k]) !== JSON.stringify(before[k]),
    );
    if (changed.length === 0) return before;
    await trx
      .updateTable('projects')
      .set({ name: next.name, time_zone: next.time_zone, language: next.language, settings: next.settings })
      .where('id', '=', p)
      .execute();
    await audit(
      ctx,
      trx,
      'project.settings',
      { type: 'project', id: p },
      Object.fromEntries(changed.map((k) => [k, { from: before[k], to: after[k] }])),
    );
    identityChanged = next.name !== row.name || next.time_zone !== row.time_zone || next.language !== row.language;
    return after;
  });
  // Switches and the distribution mode show at once on this node, within a second on the others.
  forgetProjectServices(ctx, p);
  // API token lookups carry the project's name, zone and language (accounts.ts caches them).
  if (identityChanged) ctx.bus.publish({ type: 'tokens.changed', projectId: p });
  return result;
}
