// One simulator instance: a Fastify server on 127.0.0.1 serving the three HTTP platforms under
// path prefixes, an SMSC on its own TCP port, and the programmatic control API tests use.
//
//   TELEGRAM_API_URL = urls.telegram  → <base>/bot<token>/<method>
//   VIBER_API_URL    = urls.viber     → <base>/<endpoint>            (like https://chatapi.viber.com/pa)
//   GRAPH_API_URL    = urls.graph     → <base>/<node>/<edge>         (like https://graph.facebook.com/v21.0)
//   sms-http sendUrl = urls.smsGateway + '/send'                    (docs/SMS-GATEWAY.md)
import Fastify, { type FastifyInstance } from 'fastify';
import { registerControlRoutes } from './control.js';
import { MessengerSim } from './messenger.js';
import {
  type ApiRequest,
  type ApiResponse,
  defaultRetryPolicy,
  parseParams,
  type RetryPolicy,
  Runtime,
} from './runtime.js';
import { SmsGatewaySim } from './sms-gateway.js';
import { Smsc, type SmscOptions } from './smsc.js';
import { TelegramSim } from './telegram.js';
import { ViberSim } from './viber.js';

export interface SimulatorOptions {
  /** HTTP port (0 or omitted: any free port) */
  port?: number;
  /** SMPP port (0 or omitted: any free port) */
  smppPort?: number;
  /** the platforms' clock: message dates, the Messenger window, receipt dates */
  now?: () => number;
  /** webhook retries, for all platforms unless overridden per platform */
  retry?: Partial<RetryPolicy>;
  telegramRetry?: Partial<RetryPolicy>;
  viberRetry?: Partial<RetryPolicy>;
  messengerRetry?: Partial<RetryPolicy>;
  smsGatewayRetry?: Partial<RetryPolicy>;
  smsc?: Partial<SmscOptions>;
  /** serve the HTTP control API under /_sim (the standalone CLI turns it on) */
  control?: boolean;
}

export interface Simulator {
  urls: { telegram: string; viber: string; graph: string; smsGateway: string; control: string };
  smpp: { host: string; port: number };
  telegram: TelegramSim;
  viber: ViberSim;
  messenger: MessengerSim;
  smsGateway: SmsGatewaySim;
  smsc: Smsc;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
export const GRAPH_VERSION = 'v21.0';

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const retry = { ...defaultRetryPolicy, ...opts.retry };
  const rt = new Runtime(opts.now ?? Date.now, retry);
  const telegram = new TelegramSim(rt, { ...retry, ...opts.telegramRetry });
  const viber = new ViberSim(rt, { ...retry, ...opts.viberRetry });
  const messenger = new MessengerSim(rt, { ...retry, ...opts.messengerRetry });
  const smsGateway = new SmsGatewaySim(rt, { ...retry, ...opts.smsGatewayRetry });
  const smsc = new Smsc(rt, {
    enquireLinkIntervalMs: 30_000,
    responseTimeoutMs: 10_000,
    systemId: 'DZSIM',
    ...opts.smsc,
  });

  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  // Bodies stay raw bytes: each platform parses (and rejects) them in its own way.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  mount(app, '/telegram', (r) => telegram.handle(r));
  mount(app, '/viber/pa', (r) => viber.handle(r));
  mount(app, '/graph', (r) => messenger.handle(r));
  mount(app, '/sms-gateway', (r) => smsGateway.handle(r));
  let self: Simulator | undefined;
  if (opts.control) registerControlRoutes(app, () => self!);

  let smppAddress: { host: string; port: number };
  try {
    await app.listen({ port: opts.port ?? 0, host: HOST });
    smppAddress = await smsc.listen(opts.smppPort ?? 0, HOST);
  } catch (e) {
    rt.close();
    await app.close();
    throw e;
  }
  const { port } = app.server.address() as { port: number };
  const base = `http://${HOST}:${port}`;
  const sim: Simulator = {
    urls: {
      telegram: `${base}/telegram`,
      viber: `${base}/viber/pa`,
      graph: `${base}/graph/${GRAPH_VERSION}`,
      smsGateway: `${base}/sms-gateway`,
      control: `${base}/_sim`,
    },
    smpp: smppAddress,
    telegram,
    viber,
    messenger,
    smsGateway,
    smsc,
    async close() {
      rt.close();
      await Promise.all([app.close(), smsc.close()]);
    },
  };
  self = sim;
  return sim;
}

function mount(
  app: FastifyInstance,
  prefix: string,
  // raw: the exact bytes, for a platform that signs or verifies them (the SMS gateway)
  handle: (req: ApiRequest & { raw: Buffer | undefined }) => Promise<ApiResponse>,
): void {
  app.route({
    method: ['GET', 'POST', 'DELETE'],
    url: `${prefix}/*`,
    handler: async (request, reply) => {
      const url = new URL(request.url, 'http://simulator');
      const segments = url.pathname
        .slice(prefix.length + 1)
        .split('/')
        .filter((s) => s !== '')
        .map((s) => decodeURIComponent(s));
      const query = Object.fromEntries(url.searchParams);
      const raw = Buffer.isBuffer(request.body) ? request.body : undefined;
      let res: ApiResponse;
      try {
        res = await handle({
          httpMethod: request.method,
          segments,
          parsed: parseParams(request.headers['content-type'], raw, query),
          headers: request.headers,
          raw,
        });
      } catch (e) {
        res = { status: 500, body: String((e as Error).message), headers: { 'content-type': 'text/plain' } };
      }
      return reply
        .code(res.status)
        .headers({ 'content-type': 'application/json', ...res.headers })
        .send(res.body);
    },
  });
}
