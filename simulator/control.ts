// The control API over HTTP, for the standalone simulator (cli.ts) and for people poking at it
// with curl: the same operations as the programmatic API, as JSON under /_sim. Buffers are shown
// as hex and 64-bit ids as JSON integers.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { registerDemoRoutes } from './demo-page.js';
import { stringifyJson } from './runtime.js';
import type { Simulator } from './server.js';

type Body = Record<string, unknown>;

export function registerControlRoutes(app: FastifyInstance, sim: () => Simulator): void {
  app.register(
    async (r) => {
      // The control API reads JSON; the platform routes keep their raw-bytes parser.
      r.removeAllContentTypeParsers();
      r.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
        try {
          done(null, body === '' ? {} : JSON.parse(String(body)));
        } catch (e) {
          done(e as Error, undefined);
        }
      });
      const send = (reply: FastifyReply, value: unknown, status = 200) =>
        reply
          .code(status)
          .header('content-type', 'application/json')
          .send(stringifyJson(plain(value)));
      const body = (b: unknown): Body => (b && typeof b === 'object' ? (b as Body) : {});
      const p = (params: unknown, name: string): string => String((params as Record<string, string>)[name]);

      r.setErrorHandler((err, _req, reply) => send(reply, { error: (err as Error).message }, 400));

      r.get('/', (_req, reply) =>
        send(reply, {
          urls: sim().urls,
          smpp: sim().smpp,
          telegram: sim().telegram.bots(),
          viber: sim().viber.accounts(),
          messenger: sim().messenger.pages(),
          smsc: sim().smsc.sessions(),
        }),
      );

      r.post('/telegram/bots', (req, reply) => {
        const b = body(req.body);
        send(reply, sim().telegram.createBot({ token: String(b.token), username: String(b.username) }), 201);
      });
      r.post('/telegram/bots/:token/messages', async (req, reply) => {
        const b = body(req.body);
        const d = await sim().telegram.sendFromUser(p(req.params, 'token'), {
          userId: Number(b.userId),
          firstName: String(b.firstName ?? 'Klient'),
          lastName: b.lastName === undefined ? undefined : String(b.lastName),
          username: b.username === undefined ? undefined : String(b.username),
          text: String(b.text ?? ''),
        });
        send(reply, d);
      });
      r.get('/telegram/bots/:token/sent', (req, reply) => send(reply, sim().telegram.sent(p(req.params, 'token'))));

      r.post('/viber/accounts', (req, reply) => {
        const b = body(req.body);
        send(
          reply,
          sim().viber.createAccount({ authToken: String(b.authToken), uri: String(b.uri), name: String(b.name) }),
          201,
        );
      });
      r.post('/viber/accounts/:token/messages', async (req, reply) => {
        const b = body(req.body);
        const user = { userId: String(b.userId), name: String(b.name ?? 'Klient') };
        send(reply, await sim().viber.sendFromUser(p(req.params, 'token'), { ...user, text: String(b.text ?? '') }));
      });
      r.post('/viber/accounts/:token/conversation', async (req, reply) => {
        const b = body(req.body);
        const user = { userId: String(b.userId), name: String(b.name ?? 'Klient') };
        const context = b.context === undefined ? undefined : String(b.context);
        send(reply, await sim().viber.conversationStarted(p(req.params, 'token'), { ...user, context }));
      });
      r.get('/viber/accounts/:token/sent', (req, reply) => send(reply, sim().viber.sent(p(req.params, 'token'))));

      r.post('/messenger/pages', (req, reply) => {
        const b = body(req.body);
        const page = sim().messenger.createPage({
          pageId: String(b.pageId),
          pageAccessToken: String(b.pageAccessToken),
          appSecret: String(b.appSecret),
        });
        send(reply, page, 201);
      });
      r.post('/messenger/pages/:pageId/webhook', async (req, reply) => {
        const b = body(req.body);
        const hook = { url: String(b.url), verifyToken: String(b.verifyToken ?? '') };
        send(reply, await sim().messenger.verifyWebhook(p(req.params, 'pageId'), hook));
      });
      r.post('/messenger/pages/:pageId/messages', async (req, reply) => {
        const b = body(req.body);
        const input = {
          psid: String(b.psid),
          firstName: b.firstName === undefined ? undefined : String(b.firstName),
          lastName: b.lastName === undefined ? undefined : String(b.lastName),
          text: String(b.text ?? ''),
        };
        send(reply, await sim().messenger.sendFromUser(p(req.params, 'pageId'), input));
      });
      r.get('/messenger/pages/:pageId/sent', (req, reply) =>
        send(reply, sim().messenger.sent(p(req.params, 'pageId'))),
      );

      r.post('/smsc/accounts', (req, reply) => {
        const b = body(req.body);
        sim().smsc.addAccount({ systemId: String(b.systemId), password: String(b.password) });
        send(reply, { systemId: b.systemId, smpp: sim().smpp }, 201);
      });
      r.post('/smsc/accounts/:systemId/mo', async (req, reply) => {
        const b = body(req.body);
        const statuses = await sim().smsc.sendMo(p(req.params, 'systemId'), {
          from: String(b.from),
          to: String(b.to),
          text: String(b.text ?? ''),
        });
        send(reply, { statuses });
      });
      r.get('/smsc/accounts/:systemId/messages', (req, reply) =>
        send(reply, sim().smsc.messages(p(req.params, 'systemId'))),
      );

      // The demo page of `dziennik demo` (demo-page.ts): /_sim/demo, /_sim/demo.js, /_sim/demo/*.
      registerDemoRoutes(r, sim, send);
    },
    { prefix: '/_sim' },
  );
}

/** Buffers as hex and Maps as objects, so records serialise readably. */
function plain(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return v.toString('hex');
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), plain(x)]));
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}
