// A fake Messenger Platform on a fake Graph API. Pages followed:
//   Send API       https://developers.facebook.com/docs/messenger-platform/reference/send-api/
//                  POST /<version>/<PAGE-ID|me>/messages?access_token=<PAGE-ACCESS-TOKEN>,
//                  {recipient:{id},messaging_type,message:{text},tag} → {recipient_id,message_id}
//   Errors         https://developers.facebook.com/docs/messenger-platform/reference/send-api/error-codes
//                  {error:{message,type,code,error_subcode,fbtrace_id}}: 10/2018278 outside the
//                  allowed window, 551/1545041 person unavailable, 100/2018001 no matching user,
//                  190 invalid OAuth access token, 4 / 613 rate limits, 2 / 1200 temporary.
//   Policy         https://developers.facebook.com/docs/messenger-platform/policy/policy-overview
//                  RESPONSE/UPDATE within 24 h of the person's last message; MESSAGE_TAG with
//                  HUMAN_AGENT up to 7 days (https://developers.facebook.com/docs/messenger-platform/send-messages/message-tags)
//   Webhooks       https://developers.facebook.com/docs/messenger-platform/webhooks and
//                  https://developers.facebook.com/docs/graph-api/webhooks/getting-started:
//                  verification GET with hub.mode=subscribe, hub.verify_token, hub.challenge (the
//                  endpoint echoes the challenge); POST {object:"page",entry:[{id,time,messaging:[…]}]}
//                  signed "X-Hub-Signature-256: sha256=<HMAC-SHA256 of the payload, app secret>".
//   Events         …/reference/webhook-events/messages, message-echoes, message-deliveries,
//                  message-reads, messaging_postbacks, messaging_referrals.
//   Profile        https://developers.facebook.com/docs/messenger-platform/identity/user-profile
//                  GET /<PSID>?fields=first_name,last_name,profile_pic.
import { createHash, randomBytes } from 'node:crypto';
import {
  type ApiCall,
  type ApiRequest,
  type ApiResponse,
  type Delivery,
  FaultQueue,
  hmacSha1Hex,
  hmacSha256Hex,
  json,
  jsonField,
  type Params,
  type RetryPolicy,
  type Runtime,
  str,
} from './runtime.js';

const DAY = 24 * 60 * 60 * 1000;

export type MessengerFault =
  /** code 4 "Application request limit reached" or 613; minutes goes to X-Business-Use-Case-Usage */
  | { kind: 'rateLimit'; code?: 4 | 613; minutes?: number }
  | { kind: 'outsideWindow' }
  | { kind: 'unavailable' }
  | { kind: 'serverError' }
  | { kind: 'error'; status: number; code: number; subcode?: number; message: string; type?: string };

export interface MessengerUserInput {
  psid: string;
  firstName?: string;
  lastName?: string;
  profilePic?: string;
}

export interface MessengerSentMessage {
  recipientId: string;
  messageId: string;
  messagingType: string | undefined;
  tag: string | undefined;
  text: string | undefined;
  message: Params;
  params: Params;
  at: number;
}

export type MessagingEvent = Record<string, unknown>;
export type MessengerPayload = { object: 'page'; entry: { id: string; time: number; messaging: MessagingEvent[] }[] };

interface App {
  id: string;
  secret: string;
  webhook: { url: string; verifyToken: string; fields: string[] } | null;
}

interface MUser {
  psid: string;
  firstName: string;
  lastName: string;
  profilePic: string;
  lastInboundAt: number;
  unavailable: boolean;
}

interface Page {
  id: string;
  name: string;
  token: string;
  app: App;
  subscribedFields: string[];
  users: Map<string, MUser>;
  sent: MessengerSentMessage[];
  calls: ApiCall[];
  payloads: MessengerPayload[];
  autoReceipts?: { deliveredMs?: number; readMs?: number };
  chain: Promise<unknown>;
}

const ALL_FIELDS = [
  'messages',
  'messaging_postbacks',
  'messaging_referrals',
  'message_deliveries',
  'message_reads',
  'message_echoes',
];

export class MessengerSim {
  readonly #pages = new Map<string, Page>();
  readonly #apps = new Map<string, App>();
  readonly #faults = new FaultQueue<MessengerFault>();
  #seq = 0;

  constructor(
    private readonly rt: Runtime,
    private readonly retry: RetryPolicy,
  ) {}

  /**
   * Registers a page connected to an app (created on first use; pages sharing an app secret share
   * the app). The page starts subscribed to the app for all messaging fields.
   */
  createPage(opts: {
    pageId: string;
    pageAccessToken: string;
    appSecret: string;
    appId?: string;
    name?: string;
    autoReceipts?: { deliveredMs?: number; readMs?: number };
  }): { pageId: string; appId: string; appAccessToken: string } {
    let app = opts.appId
      ? this.#apps.get(opts.appId)
      : [...this.#apps.values()].find((a) => a.secret === opts.appSecret);
    if (!app) {
      app = {
        id: opts.appId ?? String(1_517_776_481_860_111 + this.#apps.size),
        secret: opts.appSecret,
        webhook: null,
      };
      this.#apps.set(app.id, app);
    }
    this.#pages.set(opts.pageId, {
      id: opts.pageId,
      name: opts.name ?? `Page ${opts.pageId}`,
      token: opts.pageAccessToken,
      app,
      subscribedFields: [...ALL_FIELDS],
      users: new Map(),
      sent: [],
      calls: [],
      payloads: [],
      autoReceipts: opts.autoReceipts,
      chain: Promise.resolve(),
    });
    // An app access token is "<app-id>|<app-secret>" (https://developers.facebook.com/docs/facebook-login/guides/access-tokens#apptokens).
    return { pageId: opts.pageId, appId: app.id, appAccessToken: `${app.id}|${app.secret}` };
  }

  /**
   * What the App Dashboard does when an admin enters the callback URL and verify token: the
   * verification GET. The webhook is kept only if the endpoint answers 200 with the challenge.
   */
  async verifyWebhook(
    pageId: string,
    opts: { url: string; verifyToken: string; fields?: string[] },
  ): Promise<{ ok: boolean; status: number; body: string; challenge: string }> {
    const page = this.#page(pageId);
    return this.#handshake(page.app, opts.url, opts.verifyToken, opts.fields ?? ALL_FIELDS);
  }

  /** A person writes to the page. */
  sendFromUser(pageId: string, input: MessengerUserInput & { text: string }): Promise<Delivery<MessengerPayload>> {
    const page = this.#page(pageId);
    const user = this.#touch(page, input);
    return this.#emit(page, 'messages', {
      sender: { id: user.psid },
      recipient: { id: page.id },
      timestamp: this.rt.now(),
      message: { mid: this.#mid(page), text: input.text },
    });
  }

  /** A person already in the thread opens an m.me/<page>?ref=<ref> link ("messaging_referrals"). */
  referral(pageId: string, input: MessengerUserInput & { ref: string }): Promise<Delivery<MessengerPayload>> {
    const page = this.#page(pageId);
    const user = this.#touch(page, input);
    return this.#emit(page, 'messaging_referrals', {
      sender: { id: user.psid },
      recipient: { id: page.id },
      timestamp: this.rt.now(),
      referral: { ref: input.ref, source: 'SHORTLINK', type: 'OPEN_THREAD' },
    });
  }

  /** A new person taps Get Started after an m.me link with ref: a postback carrying the referral ("messaging_postbacks"). */
  getStarted(
    pageId: string,
    input: MessengerUserInput & { ref?: string; payload?: string },
  ): Promise<Delivery<MessengerPayload>> {
    const page = this.#page(pageId);
    const user = this.#touch(page, input);
    return this.#emit(page, 'messaging_postbacks', {
      sender: { id: user.psid },
      recipient: { id: page.id },
      timestamp: this.rt.now(),
      postback: {
        mid: this.#mid(page),
        title: 'Get Started',
        payload: input.payload ?? 'GET_STARTED',
        ...(input.ref ? { referral: { ref: input.ref, source: 'SHORTLINK', type: 'OPEN_THREAD' } } : {}),
      },
    });
  }

  /** A page admin answers from the Page inbox, not through the app: an echo with another app_id and no metadata. */
  echo(pageId: string, psid: string, text: string, appId = '263902037430900'): Promise<Delivery<MessengerPayload>> {
    const page = this.#page(pageId);
    return this.#emit(page, 'message_echoes', {
      sender: { id: page.id },
      recipient: { id: psid },
      timestamp: this.rt.now(),
      message: { is_echo: true, app_id: Number(appId), mid: this.#mid(page), text },
    });
  }

  /** The person's device got the messages ("message_deliveries"); mids default to all sent to them. */
  delivered(pageId: string, psid: string, mids?: string[]): Promise<Delivery<MessengerPayload>> {
    const page = this.#page(pageId);
    const mine = page.sent.filter((s) => s.recipientId === psid);
    const watermark = mine.length ? mine[mine.length - 1]!.at : this.rt.now();
    return this.#emit(page, 'message_deliveries', {
      sender: { id: psid },
      recipient: { id: page.id },
      delivery: { mids: mids ?? mine.map((s) => s.messageId), watermark },
    });
  }

  /** The person read everything sent before watermark ("message_reads"). */
  read(pageId: string, psid: string, watermark = this.rt.now()): Promise<Delivery<MessengerPayload>> {
    const page = this.#page(pageId);
    return this.#emit(page, 'message_reads', {
      sender: { id: psid },
      recipient: { id: page.id },
      timestamp: this.rt.now(),
      read: { watermark },
    });
  }

  /** Posts arbitrary messaging events as one batched entry (Meta batches events; the app must loop). */
  post(pageId: string, events: MessagingEvent[]): Promise<Delivery<MessengerPayload>> {
    return this.#emit(this.#page(pageId), null, ...events);
  }

  /** Re-posts a payload byte-identically, as Meta's retry of an unacknowledged delivery does. */
  redeliver(pageId: string, payload: MessengerPayload): Promise<Delivery<MessengerPayload>> {
    const page = this.#page(pageId);
    return this.#deliver(page, payload);
  }

  /** The person blocks the page or deactivates: sends answer 551. */
  setUnavailable(pageId: string, psid: string, unavailable = true): void {
    const user = this.#page(pageId).users.get(psid);
    if (!user) throw new Error(`messenger: ${psid} never wrote to ${pageId}`);
    user.unavailable = unavailable;
  }

  sent(pageId: string): MessengerSentMessage[] {
    return [...this.#page(pageId).sent];
  }

  calls(pageId: string): ApiCall[] {
    return [...this.#page(pageId).calls];
  }

  payloads(pageId: string): MessengerPayload[] {
    return [...this.#page(pageId).payloads];
  }

  webhook(pageId: string): { url: string; verifyToken: string; fields: string[] } | null {
    return this.#page(pageId).app.webhook;
  }

  pages(): { pageId: string; name: string; appId: string; webhook: string | null }[] {
    return [...this.#pages.values()].map((p) => ({
      pageId: p.id,
      name: p.name,
      appId: p.app.id,
      webhook: p.app.webhook?.url ?? null,
    }));
  }

  /** The next `times` Send API calls fail with the fault. */
  failNext(fault: MessengerFault, opts: { times?: number } = {}): void {
    this.#faults.push(fault, opts.times ?? 1, (m) => m === 'messages');
  }

  setLatency(ms: number): void {
    this.#faults.latencyMs = ms;
  }

  clearFaults(): void {
    this.#faults.clear();
  }

  async handle(req: ApiRequest): Promise<ApiResponse> {
    if (this.#faults.latencyMs) await this.rt.sleep(this.#faults.latencyMs);
    const segments = /^v\d+\.\d+$/.test(req.segments[0] ?? '') ? req.segments.slice(1) : req.segments;
    const params = req.parsed.ok ? req.parsed.params : {};
    const token = str(params.access_token) ?? bearer(req.headers.authorization);
    if (!token) return graphError(400, 104, 'An access token is required to request this resource.');
    const page = [...this.#pages.values()].find((p) => p.token === token);
    const app = page ? undefined : [...this.#apps.values()].find((a) => `${a.id}|${a.secret}` === token);
    if (!page && !app) return graphError(400, 190, 'Invalid OAuth access token.');
    if (!req.parsed.ok) return graphError(400, 100, `(#100) ${req.parsed.error}`, undefined, 'OAuthException');
    const res = await this.#route(req.httpMethod, segments, params, page, app);
    if (page) {
      page.calls.push({
        method: segments.join('/'),
        params,
        status: res.status,
        response: JSON.parse(res.body),
        at: this.rt.now(),
      });
    }
    return res;
  }

  async #route(method: string, seg: string[], params: Params, page?: Page, app?: App): Promise<ApiResponse> {
    const [node, edge, ...rest] = seg;
    const target = node === 'me' ? page?.id : node;
    if (rest.length === 0 && method === 'POST' && edge === 'subscriptions' && app && node === app.id) {
      return this.#subscribeApp(app, params);
    }
    if (page && target === page.id && rest.length === 0) {
      if (method === 'POST' && edge === 'messages') return this.#send(page, params);
      if (method === 'POST' && edge === 'subscribed_apps') {
        const fields = str(params.subscribed_fields);
        if (fields) page.subscribedFields = fields.split(',').map((f) => f.trim());
        return json(200, { success: true });
      }
      if (method === 'GET' && edge === undefined)
        return json(200, pick({ name: page.name, id: page.id }, params.fields));
    }
    const user = page && target ? page.users.get(target) : undefined;
    if (page && user && method === 'GET' && edge === undefined) {
      return json(
        200,
        pick(
          { first_name: user.firstName, last_name: user.lastName, profile_pic: user.profilePic, id: user.psid },
          params.fields ?? 'first_name,last_name,profile_pic',
        ),
      );
    }
    const what = method === 'GET' ? 'get' : method === 'DELETE' ? 'delete' : 'post';
    return graphError(
      400,
      100,
      `Unsupported ${what} request. Object with ID '${node ?? ''}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api`,
      33,
      'GraphMethodException',
    );
  }

  // POST /<app-id>/subscriptions with object, callback_url, verify_token, fields
  // (https://developers.facebook.com/docs/graph-api/reference/app/subscriptions/).
  async #subscribeApp(app: App, params: Params): Promise<ApiResponse> {
    const url = str(params.callback_url);
    const verifyToken = str(params.verify_token) ?? '';
    if (!url) return graphError(400, 100, '(#100) The parameter callback_url is required');
    const fields = (str(params.fields) ?? ALL_FIELDS.join(',')).split(',').map((f) => f.trim());
    const r = await this.#handshake(app, url, verifyToken, fields);
    if (!r.ok) {
      const detail =
        r.status === 200
          ? "The URL couldn't be validated. Response does not match challenge"
          : `HTTP Status Code = ${r.status}`;
      return graphError(400, 2200, `(#2200) Callback verification failed with the following errors: ${detail}`);
    }
    return json(200, { success: true });
  }

  async #handshake(app: App, url: string, verifyToken: string, fields: string[]) {
    const challenge = String(1_000_000_000 + Math.floor(Math.random() * 1_000_000_000));
    const u = new URL(url);
    u.searchParams.set('hub.mode', 'subscribe');
    u.searchParams.set('hub.challenge', challenge);
    u.searchParams.set('hub.verify_token', verifyToken);
    const a = await this.rt.request({ url: u.toString(), method: 'GET', headers: {} });
    const ok = a.status === 200 && a.body === challenge;
    if (ok) app.webhook = { url, verifyToken, fields };
    return { ok, status: a.status, body: a.body, challenge };
  }

  #send(page: Page, params: Params): ApiResponse {
    const fault = this.#faults.take('messages');
    if (fault) return faultResponse(fault, page);
    const recipient = jsonField(params.recipient) as Params | undefined;
    const psid = str(recipient?.id);
    if (!psid) return graphError(400, 100, '(#100) The parameter recipient is required');
    const user = page.users.get(psid);
    if (!user) return graphError(400, 100, '(#100) No matching user found', 2018001);
    if (user.unavailable) return graphError(400, 551, "(#551) This person isn't available right now.", 1545041);
    const messagingType = str(params.messaging_type);
    const tag = str(params.tag);
    // The standard messaging window is 24 h from the person's last message; HUMAN_AGENT extends it
    // to 7 days; other message tags are not bound to the window.
    const age = this.rt.now() - user.lastInboundAt;
    const limit = messagingType === 'MESSAGE_TAG' ? (tag === 'HUMAN_AGENT' ? 7 * DAY : Number.POSITIVE_INFINITY) : DAY;
    if (age > limit) return outsideWindow();
    if (params.sender_action !== undefined && params.message === undefined) {
      return json(200, { recipient_id: psid });
    }
    const message = (jsonField(params.message) ?? {}) as Params;
    const text = str(message.text);
    if (text !== undefined && text.length > 2000) {
      return graphError(400, 100, '(#100) Length of param message[text] must be less than or equal to 2000');
    }
    if (text === undefined && message.attachment === undefined) {
      return graphError(400, 100, '(#100) param message must be non-empty.');
    }
    const messageId = this.#mid(page);
    const at = this.rt.now();
    page.sent.push({ recipientId: psid, messageId, messagingType, tag, text, message, params, at });
    // The app's own message comes back as an echo carrying its app_id and metadata ("message_echoes").
    void this.#emit(page, 'message_echoes', {
      sender: { id: page.id },
      recipient: { id: psid },
      timestamp: at,
      message: {
        is_echo: true,
        app_id: Number(page.app.id),
        ...(message.metadata !== undefined ? { metadata: message.metadata } : {}),
        mid: messageId,
        ...(text !== undefined ? { text } : { attachments: [message.attachment] }),
      },
    }).catch(() => {});
    const auto = page.autoReceipts;
    if (auto?.deliveredMs !== undefined) {
      this.rt.after(auto.deliveredMs, () => void this.delivered(page.id, psid, [messageId]).catch(() => {}));
    }
    if (auto?.readMs !== undefined) this.rt.after(auto.readMs, () => void this.read(page.id, psid).catch(() => {}));
    return json(200, { recipient_id: psid, message_id: messageId });
  }

  /** Wraps events into one payload and posts it if the page is subscribed to the field. */
  #emit(page: Page, field: string | null, ...events: MessagingEvent[]): Promise<Delivery<MessengerPayload>> {
    const payload: MessengerPayload = {
      object: 'page',
      entry: [{ id: page.id, time: this.rt.now(), messaging: events }],
    };
    page.payloads.push(payload);
    const hook = page.app.webhook;
    if (field && (!page.subscribedFields.includes(field) || (hook && !hook.fields.includes(field)))) {
      return Promise.resolve({ event: payload, queued: false, ok: true, status: 0, body: '', attempts: 0 });
    }
    return this.#deliver(page, payload);
  }

  #deliver(page: Page, payload: MessengerPayload): Promise<Delivery<MessengerPayload>> {
    const run = page.chain.then(async (): Promise<Delivery<MessengerPayload>> => {
      const hook = page.app.webhook;
      if (!hook) return { event: payload, queued: true, ok: false, status: 0, body: '', attempts: 0 };
      const body = Buffer.from(escapedJson(payload));
      const r = await this.rt.deliver(
        {
          url: hook.url,
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            'X-Hub-Signature': `sha1=${hmacSha1Hex(page.app.secret, body)}`,
            'X-Hub-Signature-256': `sha256=${hmacSha256Hex(page.app.secret, body)}`,
          },
          body,
        },
        this.retry,
      );
      return { event: payload, queued: false, ok: r.ok, status: r.status, body: r.body, attempts: r.attempts.length };
    });
    page.chain = run.catch(() => {});
    return run;
  }

  #touch(page: Page, input: MessengerUserInput): MUser {
    const prev = page.users.get(input.psid);
    const user: MUser = {
      psid: input.psid,
      firstName: input.firstName ?? prev?.firstName ?? 'Jan',
      lastName: input.lastName ?? prev?.lastName ?? 'Kowalski',
      profilePic:
        input.profilePic ??
        prev?.profilePic ??
        `https://platform-lookaside.fbsbx.com/platform/profilepic/?psid=${input.psid}`,
      lastInboundAt: this.rt.now(),
      unavailable: prev?.unavailable ?? false,
    };
    page.users.set(user.psid, user);
    return user;
  }

  #mid(page: Page): string {
    this.#seq += 1;
    return `m_${createHash('sha256').update(`${page.id}:${this.#seq}`).digest('base64url')}`;
  }

  #page(pageId: string): Page {
    const page = this.#pages.get(pageId);
    if (!page) throw new Error(`messenger: no page ${pageId}`);
    return page;
  }
}

/**
 * Meta signs (and sends) the payload with non-ASCII characters escaped as \uXXXX in lowercase hex:
 * "the calculation is made on the escaped unicode version of the payload, with lowercase hex
 * digits ... äöå should be escaped to \u00e4\u00f6\u00e5" ("Validate payloads",
 * https://developers.facebook.com/docs/graph-api/webhooks/getting-started#validate-payloads).
 */
export function escapedJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u0080-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function graphError(
  status: number,
  code: number,
  message: string,
  subcode?: number,
  type = 'OAuthException',
  extra: Record<string, unknown> = {},
  headers?: Record<string, string>,
): ApiResponse {
  return json(
    status,
    {
      error: {
        message,
        type,
        code,
        ...(subcode !== undefined ? { error_subcode: subcode } : {}),
        ...extra,
        fbtrace_id: randomBytes(8).toString('base64url'),
      },
    },
    headers,
  );
}

function outsideWindow(): ApiResponse {
  return graphError(
    400,
    10,
    '(#10) This message is sent outside of allowed window. Learn more about the new policy here: https://developers.facebook.com/docs/messenger-platform/policy-overview',
    2018278,
  );
}

function faultResponse(f: MessengerFault, page: Page): ApiResponse {
  switch (f.kind) {
    case 'rateLimit': {
      const code = f.code ?? 613;
      const usage = JSON.stringify({
        [page.id]: [
          {
            type: 'messenger',
            call_count: 100,
            total_cputime: 1,
            total_time: 1,
            estimated_time_to_regain_access: f.minutes ?? 1,
          },
        ],
      });
      const message =
        code === 4
          ? '(#4) Application request limit reached'
          : '(#613) Calls to this API have exceeded the rate limit.';
      return graphError(400, code, message, undefined, 'OAuthException', {}, { 'x-business-use-case-usage': usage });
    }
    case 'outsideWindow':
      return outsideWindow();
    case 'unavailable':
      return graphError(400, 551, "(#551) This person isn't available right now.", 1545041);
    case 'serverError':
      return graphError(
        500,
        2,
        'An unexpected error has occurred. Please retry your request later.',
        undefined,
        'OAuthException',
        {
          is_transient: true,
        },
      );
    case 'error':
      return graphError(f.status, f.code, f.message, f.subcode, f.type);
  }
}

function pick(obj: Record<string, unknown>, fields: unknown): Record<string, unknown> {
  const list = str(fields);
  if (!list) return obj;
  const wanted = new Set([...list.split(',').map((f) => f.trim()), 'id']);
  return Object.fromEntries(Object.entries(obj).filter(([k]) => wanted.has(k)));
}

function bearer(h: string | string[] | undefined): string | undefined {
  const v = Array.isArray(h) ? h[0] : h;
  const m = v ? /^(?:Bearer|OAuth)\s+(.+)$/i.exec(v) : null;
  return m?.[1];
}
