import { z } from 'zod';
import type { ProjectContext } from './context.js';
import { readProjectSettings } from './project-settings.js';

/**
 * The setup checklist of R8: the Message log works once clients can reach the project — an
 * SMS-enabled number, or the website widget plus a connected messenger — and someone can answer in
 * the workspace. Each item says whether it holds, why not (`reason`, a stable code the web app
 * translates; `hint`, the same in English for API users) and which admin section fixes it.
 */

export const SETUP_KEYS = ['smsNumber', 'widget', 'messenger', 'workspaceUsers', 'serviceSwitches'] as const;
export type SetupKey = (typeof SETUP_KEYS)[number];
export const SETUP_SECTIONS = ['users', 'channels', 'numbers', 'widget', 'services', 'settings'] as const;

export const SetupItemSchema = z.object({
  key: z.enum(SETUP_KEYS),
  ok: z.boolean(),
  reason: z.string().nullable().describe('Why it does not hold (a stable code), null when it does'),
  hint: z.string().nullable().describe('What to do, in English; null when it holds'),
  section: z.enum(SETUP_SECTIONS).describe('The admin section that fixes it'),
  path: z
    .enum(['sms', 'web'])
    .nullable()
    .describe('The way clients write in that the item belongs to: sms, or web (widget + messenger); either suffices'),
});
export type SetupItem = z.infer<typeof SetupItemSchema>;

export const SetupChecklistSchema = z.object({
  ready: z.boolean().describe('All preconditions of R8 hold: the log can work'),
  paths: z.object({
    sms: z.boolean().describe('An SMS-enabled number'),
    web: z.boolean().describe('The widget installed plus a connected messenger'),
  }),
  items: z.array(SetupItemSchema),
});
export type SetupChecklist = z.infer<typeof SetupChecklistSchema>;

const MESSENGERS = ['telegram', 'viber', 'messenger'] as const;

function readConfig(text: string): { removedAt?: number; lastTest?: { ok?: boolean; message?: string } } {
  try {
    return JSON.parse(text || '{}') as { removedAt?: number; lastTest?: { ok?: boolean; message?: string } };
  } catch {
    return {};
  }
}

export async function getSetupChecklist(ctx: ProjectContext): Promise<SetupChecklist> {
  const p = ctx.project.id;
  const db = ctx.store.db;
  const settings = await readProjectSettings(ctx, p);
  const sw = settings.services;

  const channels = (
    await db
      .selectFrom('channels')
      .select(['id', 'type', 'name', 'enabled', 'config'])
      .where('project_id', '=', p)
      .execute()
  )
    .map((c) => ({ ...c, config: readConfig(c.config) }))
    .filter((c) => c.enabled === 1 && c.config.removedAt === undefined);
  const smsChannels = channels.filter((c) => c.type === 'sms' || c.type === 'sms-http');
  const smsNumbers =
    smsChannels.length === 0
      ? []
      : await db
          .selectFrom('numbers')
          .select(['id', 'sms_enabled'])
          .where('project_id', '=', p)
          .where(
            'channel_id',
            'in',
            smsChannels.map((c) => c.id),
          )
          .execute();
  const messengers = channels.filter((c) => (MESSENGERS as readonly string[]).includes(c.type));
  const workingMessengers = messengers.filter((c) => c.config.lastTest?.ok !== false);
  const people = await db
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select(['users.id', 'memberships.role'])
    .where('memberships.project_id', '=', p)
    .where('memberships.role', 'in', ['manager', 'admin'])
    .where('users.disabled', '=', 0)
    .where('users.password_hash', 'is not', null)
    .execute();

  const item = (
    key: SetupKey,
    section: SetupItem['section'],
    path: SetupItem['path'],
    failure: [reason: string, hint: string, section?: SetupItem['section']] | null,
  ): SetupItem => ({
    key,
    ok: failure === null,
    reason: failure?.[0] ?? null,
    hint: failure?.[1] ?? null,
    section: failure?.[2] ?? section,
    path,
  });

  const sms = item(
    'smsNumber',
    'numbers',
    'sms',
    !sw.sms
      ? ['sms_off', 'SMS is switched off: switch it on in the service switches', 'services']
      : smsChannels.length === 0
        ? ['no_sms_channel', 'Connect an SMS channel (SMPP or an HTTP gateway), then add its numbers', 'channels']
        : smsNumbers.length === 0
          ? ['no_number', 'Add a number to the SMS channel']
          : !smsNumbers.some((n) => n.sms_enabled === 1)
            ? ['sms_disabled_on_numbers', 'Switch SMS on for at least one number']
            : null,
  );
  const widget = item(
    'widget',
    'widget',
    'web',
    !sw.widget
      ? ['widget_off', 'The widget is switched off: switch it on in the service switches', 'services']
      : settings.widgetAllowedOrigins.length === 0
        ? [
            'no_widget_origin',
            "Add your website's address to the widget's allowed websites, then paste the snippet on the site",
          ]
        : null,
  );
  const messenger = item(
    'messenger',
    'channels',
    'web',
    !sw.messengers
      ? ['messengers_off', 'Messengers are switched off: switch them on in the service switches', 'services']
      : messengers.length === 0
        ? ['no_messenger', 'Connect a Telegram bot, a Viber bot or a Facebook page']
        : workingMessengers.length === 0
          ? [
              'messenger_failing',
              `The last connection test failed (${messengers
                .map((c) => `${c.name}: ${c.config.lastTest?.message ?? 'failed'}`)
                .join('; ')}); fix the credentials and run the test again`,
            ]
          : null,
  );
  const workspace = item(
    'workspaceUsers',
    'users',
    null,
    !sw.workspace
      ? ['workspace_off', 'The workspace is switched off: switch it on in the service switches', 'services']
      : people.length === 0
        ? ['no_managers', 'Invite a manager: nobody who can sign in may answer clients']
        : null,
  );
  const off = (['workspace', 'sms', 'widget', 'messengers'] as const).filter((k) => !sw[k]);
  const neededOn = sw.workspace && (sw.sms || (sw.widget && sw.messengers));
  const switches = item(
    'serviceSwitches',
    'services',
    null,
    neededOn ? null : ['services_off', `Switched off: ${off.join(', ')}; switch on the ones clients write through`],
  );

  const paths = { sms: sms.ok, web: widget.ok && messenger.ok };
  return {
    ready: (paths.sms || paths.web) && workspace.ok && switches.ok,
    paths,
    items: [sms, widget, messenger, workspace, switches],
  };
}
