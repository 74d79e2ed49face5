import { randomBytes, randomInt } from 'node:crypto';
import net from 'node:net';
import type { z } from 'zod';
import { type Config, ConfigError } from '../config.js';
import { SecretBoxError } from '../core/secret-box.js';
import { createAdmin, userProjects } from '../services/accounts.js';
import {
  type ChannelView,
  createChannel,
  listChannels,
  MessengerCredentials,
  SmppCredentials,
  TelegramCredentials,
  updateChannel,
  ViberCredentials,
} from '../services/channels.js';
import { makeAppContext, type ProjectContext, type ProjectInfo } from '../services/context.js';
import { createNumber, listNumbers } from '../services/numbers.js';
import { seedProject } from '../services/seed.js';
import { findChannel, openCredentials } from '../store/channels.js';
import { migrate } from '../store/migrate.js';
import { openStore, type Store } from '../store/open.js';
import { resolveSecretKey } from './secret.js';
import { startServer } from './start.js';

/**
 * `dziennik demo` (SPEC §4.11, issue 3 §7): the app with a seeded project, and the platform
 * simulator in the same process, so that a newcomer writes as a client on the simulator's demo page
 * (`/_sim/demo`) and answers as a manager in the app — no accounts anywhere.
 *
 * - The simulator listens on 127.0.0.1: HTTP on DEMO_SIM_PORT (default PORT+1), the SMSC on
 *   DEMO_SMPP_PORT (default 2775); a default port that is taken falls back to any free one. The
 *   app's TELEGRAM_API_URL / VIBER_API_URL / GRAPH_API_URL point at it, and PUBLIC_URL (unless set)
 *   is the app's own loopback address with the real port, so the simulator can call the webhooks.
 * - The channels are made through the channel service, exactly as an admin would: the credentials
 *   checked at the (simulated) platform, the webhooks registered there (Viber's signed check and
 *   Meta's verification GET reach our webhook routes). The SMS channel speaks SMPP to the
 *   simulator's SMSC, with an ordinary number (+48 22 …) and an outbound-only one (+48 799 …).
 * - The simulator keeps nothing between runs; the channel rows do (DATA_DIR / DATABASE_URL). So on
 *   every start the bots, the Viber account, the page and the SMSC account are created again in
 *   the simulator from the credentials stored in the channels, and each enabled webhook channel is
 *   registered again (disabled and enabled through the service: two `channel.update` audit entries
 *   per channel and start). The SMS channel's host and port are updated when the SMSC's changed;
 *   that happens before the server starts, so its SMPP sessions find the SMSC where it is now.
 * - First run: the demo admin (password printed once), then the history (`seed`). The seed reuses
 *   the SMS channel and its numbers and adds credential-less Telegram / Viber / Messenger channels
 *   for the history; those are given credentials and webhooks once the server listens. A data
 *   directory seeded by an older `dziennik demo` is brought up the same way.
 */

export const DEMO_EMAIL = 'demo@dziennik.local';
export const DEMO_PROJECT = 'Demo — Sklep Rowerowy';
const DEMO_NUMBER = '+48223071000';
const DEMO_OUTBOUND_ONLY_NUMBER = '+48799100200';
const DEFAULT_SMPP_PORT = 2775;
const BRAND = 'Sklep Rowerowy';

/**
 * What demo.ts uses of simulator/server.ts. The simulator is outside src/ (the build's rootDir), so
 * it is loaded at run time (loadSimulator) and described here; demo.test.ts type-checks the real
 * module against this.
 */
export interface DemoSimulator {
  urls: { telegram: string; viber: string; graph: string; control: string };
  smpp: { host: string; port: number };
  telegram: { createBot(opts: { token: string; username: string; firstName?: string }): unknown };
  viber: {
    createAccount(opts: {
      authToken: string;
      uri: string;
      name: string;
      autoReceipts?: { deliveredMs?: number; seenMs?: number };
    }): unknown;
  };
  messenger: {
    createPage(opts: {
      pageId: string;
      pageAccessToken: string;
      appSecret: string;
      appId?: string;
      name?: string;
      autoReceipts?: { deliveredMs?: number; readMs?: number };
    }): unknown;
    verifyWebhook(pageId: string, opts: { url: string; verifyToken: string }): Promise<{ ok: boolean }>;
  };
  smsc: { addAccount(opts: { systemId: string; password: string }): void };
  close(): Promise<void>;
}

export interface SimulatorModule {
  startSimulator(opts: { port?: number; smppPort?: number; control?: boolean }): Promise<DemoSimulator>;
}

export interface DemoOptions {
  /** dialogs of history seeded into a new demo project (3000) */
  dialogs?: number;
  /** the simulator's HTTP port (control API and demo page); unset: PORT+1, or any free port */
  simPort?: number;
  /** the SMSC's port; unset: 2775, or any free port */
  smppPort?: number;
  /** where the banner goes (standard error: standard output carries the JSON logs) */
  out?: { write(text: string): unknown };
}

export interface DemoHandle {
  /** the app, where managers sign in */
  appUrl: string;
  /** the simulator's demo page, where one writes as a client */
  demoUrl: string;
  simulator: DemoSimulator;
  projectId: number;
  /** password: only on the run that created the account, as printed */
  login: { email: string; password: string | null };
  channels: Record<'telegram' | 'viber' | 'messenger' | 'sms', number>;
  /** Stops the server, the outbox worker, the simulator and releases the store. */
  close(): Promise<void>;
}

export async function startDemo(
  config: Config,
  options: DemoOptions = { simPort: config.demoSimPort, smppPort: config.demoSmppPort },
): Promise<DemoHandle> {
  const out = options.out ?? process.stderr;
  const secretKey = resolveSecretKey(config);
  // PUBLIC_URL is where the simulator calls the webhooks: the real port, on loopback, unless set.
  const port = config.port === 0 ? await freePort(config.host) : config.port;
  const publicUrl =
    config.publicUrl === `http://localhost:${config.port}`
      ? `http://${loopback(config.host)}:${port}`
      : config.publicUrl;
  const sim = await startSim(await loadSimulator(), port, options);
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    const cfg: Config & { secretKey: string } = Object.freeze({
      ...config,
      port,
      publicUrl,
      secretKey,
      telegramApiUrl: sim.urls.telegram,
      viberApiUrl: sim.urls.viber,
      graphApiUrl: sim.urls.graph,
    });

    // Before the server: the account, the SMS channel (the server's SMPP sessions must find the
    // SMSC where it listens now) and, on first run, the history.
    const early = await openStore({ databaseUrl: cfg.databaseUrl, dataDir: cfg.dataDir });
    let prepared: Awaited<ReturnType<typeof prepare>>;
    try {
      await migrate(early);
      prepared = await prepare(early, cfg, sim, options.dialogs ?? 3000, out);
    } finally {
      await early.close();
    }

    server = await startServer(cfg);

    // The webhook channels, once the app listens: the platforms call it while registering them.
    // The server's own context: its bus carries the channel changes to the SMPP sessions.
    const ctx: ProjectContext = {
      ...server.app,
      project: prepared.project,
      actor: { type: 'system', name: 'dziennik demo' },
    };
    const telegram = await ensureWebhookChannel(ctx, sim, 'telegram');
    const viber = await ensureWebhookChannel(ctx, sim, 'viber');
    const messenger = await ensureWebhookChannel(ctx, sim, 'messenger');

    const appUrl = publicUrl;
    const demoUrl = `${sim.urls.control}/demo`;
    const tg = telegram.creds as TelegramCredentials;
    const vb = viber.creds as ViberCredentials;
    const fb = messenger.creds as MessengerCredentials;
    const names = {
      telegram: text(telegram.view.config.botUsername) ?? 'SklepRowerowyBot',
      viber: text(viber.view.config.botName) ?? BRAND,
      viberUri: text(viber.view.config.uri) ?? 'sklep-rowerowy',
      page: text(messenger.view.config.pageName) ?? BRAND,
    };
    await putSetup(sim, {
      appUrl,
      projectName: prepared.project.name,
      login: { email: DEMO_EMAIL },
      telegram: { token: tg.botToken, username: names.telegram, name: text(telegram.view.config.botName) ?? BRAND },
      viber: { authToken: vb.authToken, name: names.viber, uri: names.viberUri },
      messenger: { pageId: fb.pageId, name: names.page },
      sms: { systemId: prepared.sms.systemId, numbers: prepared.sms.numbers },
    });

    const smsNumbers = prepared.sms.numbers
      .map((n) => (n.outboundOnly ? `${n.e164} (outbound only, sender "SMS")` : n.e164))
      .join(', ');
    out.write(
      [
        '',
        `  Dziennik demo — "${prepared.project.name}" (project ${prepared.project.id})`,
        `    The app (managers):       ${appUrl}   API: ${appUrl}/api/openapi.json`,
        `    The demo page (clients):  ${demoUrl}`,
        prepared.password
          ? `    Sign in:                  ${DEMO_EMAIL} / ${prepared.password}   (the password is shown only this once)`
          : `    Sign in:                  ${DEMO_EMAIL}   (the password was shown when this demo was first started;\n` +
            '                              lost it? start over with an empty DATA_DIR)',
        `    Channels: Telegram @${names.telegram}, Viber "${names.viber}", Messenger "${names.page}", SMS ${smsNumbers}`,
        '',
        '',
      ].join('\n'),
    );

    const running = server;
    let closed = false;
    return {
      appUrl,
      demoUrl,
      simulator: sim,
      projectId: prepared.project.id,
      login: { email: DEMO_EMAIL, password: prepared.password },
      channels: {
        telegram: telegram.view.id,
        viber: viber.view.id,
        messenger: messenger.view.id,
        sms: prepared.sms.id,
      },
      async close() {
        if (closed) return;
        closed = true;
        // Webhooks stop first, then deliveries in flight finish against the simulator.
        await running.fastify.close();
        await running.worker.stop();
        await running.smpp.close();
        await sim.close();
        await running.store.close();
      },
    };
  } catch (e) {
    if (server) {
      await server.fastify.close();
      await server.worker.stop();
      await server.smpp.close();
      await server.store.close();
    }
    await sim.close();
    throw e;
  }
}

/**
 * The simulator is a development and demo tool kept outside src/, so the compiled server does not
 * carry it: it is imported at run time as TypeScript, through tsx (a dependency) when this module
 * itself runs compiled from dist/.
 */
async function loadSimulator(): Promise<SimulatorModule> {
  if (!import.meta.url.endsWith('.ts')) {
    const { register } = await import('tsx/esm/api');
    register();
  }
  const url = new URL('../../simulator/server.ts', import.meta.url);
  return (await import(url.href)) as SimulatorModule;
}

async function startSim(mod: SimulatorModule, appPort: number, options: DemoOptions): Promise<DemoSimulator> {
  const port = options.simPort ?? (appPort > 0 && appPort < 65535 ? appPort + 1 : 0);
  const smppPort = options.smppPort ?? DEFAULT_SMPP_PORT;
  try {
    return await mod.startSimulator({ port, smppPort, control: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    if (options.simPort === undefined || options.smppPort === undefined) {
      // A default port is taken: any free one (the demo page's address is printed anyway).
      try {
        return await mod.startSimulator({ port: options.simPort ?? 0, smppPort: options.smppPort ?? 0, control: true });
      } catch (again) {
        if ((again as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw again;
      }
    }
    const taken = (e as { port?: number }).port;
    throw new ConfigError([
      {
        variable: taken === smppPort ? 'DEMO_SMPP_PORT' : 'DEMO_SIM_PORT',
        message: `port ${taken ?? '?'} is already in use; choose another one (0: any free port)`,
      },
    ]);
  }
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** The address the simulator (in this process) reaches the app at. */
function loopback(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === 'localhost' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

function projectContext(store: Store, config: Config & { secretKey: string }, project: ProjectInfo): ProjectContext {
  return { ...makeAppContext({ store, config }), project, actor: { type: 'system', name: 'dziennik demo' } };
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The account and project, the SMS channel and its numbers, and the history on first run. */
async function prepare(
  store: Store,
  cfg: Config & { secretKey: string },
  sim: DemoSimulator,
  dialogs: number,
  out: { write(text: string): unknown },
) {
  const app = makeAppContext({ store, config: cfg });
  let password: string | null = null;
  let user = await store.db.selectFrom('users').select('id').where('email', '=', DEMO_EMAIL).executeTakeFirst();
  if (!user) {
    password = randomBytes(12).toString('base64url');
    const created = await createAdmin(app, {
      email: DEMO_EMAIL,
      projectName: DEMO_PROJECT,
      password,
      name: 'Demo Admin',
    });
    user = { id: created.userId };
  } else {
    out.write(`dziennik demo: using the existing demo project in ${cfg.databaseUrl ? 'DATABASE_URL' : cfg.dataDir}\n`);
  }
  const projects = await userProjects(store, user.id);
  const p = projects.find((x) => x.name === DEMO_PROJECT && x.role === 'admin') ?? projects[0];
  if (!p) throw new Error(`${DEMO_EMAIL} belongs to no project; remove the user or start with an empty DATA_DIR`);
  const project: ProjectInfo = { id: p.id, name: p.name, timeZone: p.timeZone, language: p.language };
  const ctx = projectContext(store, cfg, project);

  const sms = await ensureSmsChannel(ctx, sim);

  const hasHistory = await store.db
    .selectFrom('dialogs')
    .select('id')
    .where('project_id', '=', project.id)
    .limit(1)
    .executeTakeFirst();
  if (!hasHistory && dialogs > 0) {
    out.write(`dziennik demo: seeding ${dialogs} dialogs into "${project.name}"…\n`);
    await seedProject(store, { projectId: project.id, dialogs, seed: 1 });
  }
  return { project, password, sms };
}

async function liveChannel(ctx: ProjectContext, type: ChannelView['type']): Promise<ChannelView | undefined> {
  return (await listChannels(ctx)).items.find((c) => c.type === type);
}

/** The channel's stored credentials when they open and are complete; null otherwise (seeded, or SECRET_KEY changed). */
async function storedCredentials<T>(ctx: ProjectContext, id: number, schema: z.ZodType<T>): Promise<T | null> {
  const row = await findChannel(ctx.store, ctx.project.id, id);
  if (!row) return null;
  try {
    const parsed = schema.safeParse(openCredentials(ctx.config.secretKey, row));
    return parsed.success ? parsed.data : null;
  } catch (e) {
    if (e instanceof SecretBoxError) return null;
    throw e;
  }
}

async function ensureSmsChannel(ctx: ProjectContext, sim: DemoSimulator) {
  const here = { host: sim.smpp.host, port: sim.smpp.port };
  const view = await liveChannel(ctx, 'sms');
  let id: number;
  let creds: SmppCredentials;
  const stored = view ? await storedCredentials(ctx, view.id, SmppCredentials) : null;
  if (view && stored) {
    id = view.id;
    creds = { ...stored, ...here, tls: false };
    if (stored.host !== here.host || stored.port !== here.port || stored.tls) {
      await updateChannel(ctx, id, { credentials: { ...here, tls: false } });
    }
  } else {
    // SMPP 3.4: system_id at most 15 characters, password at most 8.
    creds = { ...here, systemId: 'dziennik-demo', password: randomBytes(6).toString('base64url') };
    id = view
      ? (await updateChannel(ctx, view.id, { credentials: creds })).id
      : (await createChannel(ctx, { type: 'sms', name: 'SMS: symulator SMSC', credentials: creds })).id;
  }
  sim.smsc.addAccount({ systemId: creds.systemId, password: creds.password });

  const have = (await listNumbers(ctx, { channelId: id })).items;
  if (!have.some((n) => !n.outboundOnly)) {
    await createNumber(ctx, { e164: DEMO_NUMBER, channelId: id, smsEnabled: true });
  }
  if (!have.some((n) => n.outboundOnly)) {
    await createNumber(ctx, { e164: DEMO_OUTBOUND_ONLY_NUMBER, channelId: id, smsEnabled: true, outboundOnly: true });
  }
  const numbers = (await listNumbers(ctx, { channelId: id })).items
    .filter((n) => n.smsEnabled)
    .sort((a, b) => Number(a.outboundOnly) - Number(b.outboundOnly))
    .map((n) => ({ e164: n.e164, outboundOnly: n.outboundOnly }));
  return { id, systemId: creds.systemId, numbers };
}

type WebhookKind = 'telegram' | 'viber' | 'messenger';
const SCHEMAS = { telegram: TelegramCredentials, viber: ViberCredentials, messenger: MessengerCredentials } as const;

/** Credentials of the right shapes (services/channels.ts), keeping what a seeded channel already says. */
function newCredentials(type: WebhookKind, config: Record<string, unknown>): Record<string, string> {
  const digits = (n: number) => Array.from({ length: n }, () => randomInt(10)).join('');
  switch (type) {
    case 'telegram': {
      // `<bot id>:<35 of A-Za-z0-9_->`; the simulator takes the bot id from the token.
      const botId = typeof config.botId === 'number' ? config.botId : 7_000_000_000 + randomInt(1_000_000_000);
      return { botToken: `${botId}:AA${randomBytes(25).toString('base64url').slice(0, 33)}` };
    }
    case 'viber':
      return { authToken: [8, 8, 8].map((n) => randomBytes(n).toString('hex')).join('-') };
    case 'messenger':
      return {
        pageId: text(config.pageId) ?? `10${digits(13)}`,
        pageAccessToken: `EAAG${randomBytes(60).toString('base64url').replace(/[-_]/g, 'Z')}`,
        appSecret: randomBytes(16).toString('hex'),
        verifyToken: randomBytes(16).toString('base64url'),
        appId: text(config.appId) ?? `1${digits(15)}`,
      };
  }
}

function addToSimulator(
  sim: DemoSimulator,
  type: WebhookKind,
  c: Record<string, unknown>,
  config: Record<string, unknown>,
) {
  switch (type) {
    case 'telegram':
      sim.telegram.createBot({
        token: String(c.botToken),
        username: text(config.botUsername) ?? 'SklepRowerowyBot',
        firstName: text(config.botName) ?? BRAND,
      });
      return;
    case 'viber':
      // The simulated phones report delivered and seen, so managers see the delivery marks move.
      sim.viber.createAccount({
        authToken: String(c.authToken),
        uri: text(config.uri) ?? 'sklep-rowerowy',
        name: text(config.botName) ?? BRAND,
        autoReceipts: { deliveredMs: 500, seenMs: 2000 },
      });
      return;
    case 'messenger':
      sim.messenger.createPage({
        pageId: String(c.pageId),
        pageAccessToken: String(c.pageAccessToken),
        appSecret: String(c.appSecret),
        ...(text(c.appId) ? { appId: String(c.appId) } : {}),
        name: text(config.pageName) ?? BRAND,
        autoReceipts: { deliveredMs: 500, readMs: 2000 },
      });
      return;
  }
}

/**
 * A Telegram / Viber / Messenger channel that works against this run's simulator: created through
 * the service when missing, given credentials when it has none (seeded), else re-registered.
 */
async function ensureWebhookChannel(ctx: ProjectContext, sim: DemoSimulator, type: WebhookKind) {
  const view = await liveChannel(ctx, type);
  const stored = view ? await storedCredentials<Record<string, unknown>>(ctx, view.id, SCHEMAS[type]) : null;
  const creds: Record<string, unknown> = stored ?? newCredentials(type, view?.config ?? {});
  addToSimulator(sim, type, creds, view?.config ?? {});
  let result: ChannelView;
  if (!view) {
    result = await createChannel(ctx, { type, credentials: creds });
  } else if (!stored) {
    // Checked at the platform and, when enabled, registered there by the update.
    result = await updateChannel(ctx, view.id, { credentials: creds });
  } else if (view.enabled) {
    // The simulator forgot the webhook: pausing and resuming registers it again.
    await updateChannel(ctx, view.id, { enabled: false });
    result = await updateChannel(ctx, view.id, { enabled: true });
  } else {
    result = view;
  }
  // A page connected without the app id has its callback URL set in the App Dashboard: do what it does.
  if (type === 'messenger' && !text(creds.appId) && result.enabled && result.webhookUrl) {
    await sim.messenger.verifyWebhook(String(creds.pageId), {
      url: result.webhookUrl,
      verifyToken: String(creds.verifyToken),
    });
  }
  return { view: result, creds };
}

/** Tells the demo page which bot, account, page and SMSC account it writes as. */
async function putSetup(sim: DemoSimulator, setup: Record<string, unknown>) {
  const res = await fetch(`${sim.urls.control}/demo/setup`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(setup),
  });
  if (!res.ok) throw new Error(`the simulator refused the demo set-up: HTTP ${res.status} ${await res.text()}`);
  await res.body?.cancel();
}
