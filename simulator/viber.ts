// A fake Viber REST Bot API, following https://developers.viber.com/docs/api/rest-bot-api/ and
// https://creators.viber.com/docs/bots-api/ (web-hooks, send-message, errors):
//   requests  POST <base>/<endpoint> (base https://chatapi.viber.com/pa) with JSON and the
//             "X-Viber-Auth-Token" header; the HTTP status is always 200 and the outcome is in
//             {status, status_message} ("Authentication token", "Errors");
//   webhook   set_webhook makes Viber POST {"event":"webhook",...} to the URL and succeed only on
//             an HTTP 200 ("Setting a Webhook");
//   callbacks subscribed, unsubscribed, conversation_started (with context), message, delivered,
//             seen, failed — each signed with "X-Viber-Content-Signature": the hex HMAC-SHA256
//             of the body keyed by the auth token ("Callbacks").
import {
  type ApiCall,
  type ApiRequest,
  type ApiResponse,
  type Delivery,
  FaultQueue,
  hmacSha256Hex,
  json,
  type Params,
  type RetryPolicy,
  type Runtime,
  str,
  stringifyJson,
} from './runtime.js';

// "Errors" table of the REST Bot API; the names are what status_message carries.
export const VIBER_STATUS = {
  ok: 0,
  invalidUrl: 1,
  invalidAuthToken: 2,
  badData: 3,
  missingData: 4,
  receiverNotRegistered: 5,
  receiverNotSubscribed: 6,
  publicAccountBlocked: 7,
  publicAccountNotFound: 8,
  publicAccountSuspended: 9,
  webhookNotSet: 10,
  receiverNoSuitableDevice: 11,
  tooManyRequests: 12,
} as const;
export type ViberStatusName = keyof typeof VIBER_STATUS;

export type ViberFault =
  /** any documented status, e.g. { kind: 'status', name: 'receiverNotSubscribed' } */
  | { kind: 'status'; name: ViberStatusName; statusMessage?: string }
  | { kind: 'rateLimit' }
  | { kind: 'serverError'; status?: number };

// set_webhook event_types lists delivered, seen, failed, subscribed, unsubscribed and
// conversation_started ("Setting a Webhook"); user messages are not in that list and always come.
// Subscription changes are sent regardless too: the simulator's reading, kept strict on purpose
// so that an app which filters them out still learns that a client unsubscribed.
const FILTERABLE = ['delivered', 'seen', 'failed', 'subscribed', 'unsubscribed', 'conversation_started'];
const ALWAYS = new Set(['message', 'subscribed', 'unsubscribed', 'webhook']);
const CHAT_HOSTNAME = 'SN-CHAT-05_';

export interface ViberUserInput {
  userId: string;
  name: string;
  avatar?: string;
  country?: string;
  language?: string;
  apiVersion?: number;
}

export interface ViberSentMessage {
  /** 'send_message', or 'welcome' for a welcome message answered to conversation_started */
  kind: 'send_message' | 'welcome';
  receiver: string;
  type: string;
  text?: string;
  messageToken: bigint | null;
  body: Params;
  at: number;
}

export type ViberCallback = { event: string; timestamp: number; chat_hostname: string } & Record<string, unknown>;

interface ViberUser {
  id: string;
  name: string;
  avatar?: string;
  country: string;
  language: string;
  api_version: number;
  subscribed: boolean;
}

interface Account {
  authToken: string;
  id: string;
  uri: string;
  name: string;
  avatar?: string;
  webhook: { url: string; eventTypes: string[]; sendName: boolean; sendPhoto: boolean } | null;
  users: Map<string, ViberUser>;
  sent: ViberSentMessage[];
  calls: ApiCall[];
  callbacks: ViberCallback[];
  autoReceipts?: { deliveredMs?: number; seenMs?: number };
  chain: Promise<unknown>;
}

export class ViberSim {
  readonly #accounts = new Map<string, Account>();
  readonly #faults = new FaultQueue<ViberFault>();
  // message_token: a 64-bit integer unique per message ("Send Message" response).
  #nextToken = 5_741_311_803_571_721_087n;

  constructor(
    private readonly rt: Runtime,
    private readonly retry: RetryPolicy,
  ) {}

  /**
   * Registers a bot account. autoReceipts makes the simulated users' phones report delivered
   * (and seen) for every message the bot sends, after the given delays.
   */
  createAccount(opts: {
    authToken: string;
    uri: string;
    name: string;
    avatar?: string;
    autoReceipts?: { deliveredMs?: number; seenMs?: number };
  }): { id: string } {
    const id = `pa:${5_000_000_000_000_000_000n + BigInt(this.#accounts.size)}`;
    this.#accounts.set(opts.authToken, {
      authToken: opts.authToken,
      id,
      uri: opts.uri,
      name: opts.name,
      avatar: opts.avatar,
      webhook: null,
      users: new Map(),
      sent: [],
      calls: [],
      callbacks: [],
      autoReceipts: opts.autoReceipts,
      chain: Promise.resolve(),
    });
    return { id };
  }

  /** A user writes; the first message subscribes them without a subscribed callback ("Callbacks"). */
  sendFromUser(
    authToken: string,
    input: ViberUserInput & { text: string; trackingData?: string },
  ): Promise<Delivery<ViberCallback>> {
    const acc = this.#account(authToken);
    const user = this.#rememberUser(acc, input);
    user.subscribed = true;
    return this.#emit(acc, {
      event: 'message',
      message_token: this.#token(),
      sender: userObject(user),
      message: { type: 'text', text: input.text, ...(input.trackingData ? { tracking_data: input.trackingData } : {}) },
    });
  }

  /**
   * The user opens the chat, e.g. from viber://pa?chatURI=<uri>&context=<context>. The app may
   * answer with a welcome message in the response body ("Conversation started", "Sending a
   * welcome message"); it is recorded in sent() with kind 'welcome'.
   */
  async conversationStarted(
    authToken: string,
    input: ViberUserInput & { context?: string; type?: 'open' },
  ): Promise<Delivery<ViberCallback>> {
    const acc = this.#account(authToken);
    const user = this.#rememberUser(acc, input);
    const d = await this.#emit(acc, {
      event: 'conversation_started',
      message_token: this.#token(),
      type: input.type ?? 'open',
      ...(input.context !== undefined ? { context: input.context } : {}),
      user: userObject(user),
      subscribed: user.subscribed,
    });
    if (d.ok && d.body.trim().startsWith('{')) {
      try {
        const welcome = JSON.parse(d.body) as Params;
        if (typeof welcome.type === 'string') {
          acc.sent.push({
            kind: 'welcome',
            receiver: user.id,
            type: welcome.type,
            text: str(welcome.text),
            messageToken: null,
            body: welcome,
            at: this.rt.now(),
          });
        }
      } catch {
        // not a welcome message: nothing to record
      }
    }
    return d;
  }

  subscribe(authToken: string, input: ViberUserInput): Promise<Delivery<ViberCallback>> {
    const acc = this.#account(authToken);
    const user = this.#rememberUser(acc, input);
    user.subscribed = true;
    return this.#emit(acc, { event: 'subscribed', user: userObject(user), message_token: this.#token() });
  }

  /** The user unsubscribes: later send_message calls answer status 6. */
  unsubscribe(authToken: string, userId: string): Promise<Delivery<ViberCallback>> {
    const acc = this.#account(authToken);
    const user = acc.users.get(userId);
    if (user) user.subscribed = false;
    return this.#emit(acc, { event: 'unsubscribed', user_id: userId, message_token: this.#token() });
  }

  delivered(authToken: string, messageToken: bigint): Promise<Delivery<ViberCallback>> {
    return this.#receipt(authToken, 'delivered', messageToken);
  }

  seen(authToken: string, messageToken: bigint): Promise<Delivery<ViberCallback>> {
    return this.#receipt(authToken, 'seen', messageToken);
  }

  failed(authToken: string, messageToken: bigint, desc = 'failure description'): Promise<Delivery<ViberCallback>> {
    return this.#receipt(authToken, 'failed', messageToken, desc);
  }

  sent(authToken: string): ViberSentMessage[] {
    return [...this.#account(authToken).sent];
  }

  calls(authToken: string): ApiCall[] {
    return [...this.#account(authToken).calls];
  }

  callbacks(authToken: string): ViberCallback[] {
    return [...this.#account(authToken).callbacks];
  }

  webhook(authToken: string): { url: string; eventTypes: string[] } | null {
    return this.#account(authToken).webhook;
  }

  accounts(): { id: string; uri: string; name: string; webhook: string | null }[] {
    return [...this.#accounts.values()].map((a) => ({
      id: a.id,
      uri: a.uri,
      name: a.name,
      webhook: a.webhook?.url ?? null,
    }));
  }

  /** The next `times` calls (by default send_message) fail with the fault. */
  failNext(fault: ViberFault, opts: { times?: number; endpoint?: string } = {}): void {
    const endpoint = opts.endpoint ?? 'send_message';
    this.#faults.push(fault, opts.times ?? 1, (m) => m === endpoint);
  }

  setLatency(ms: number): void {
    this.#faults.latencyMs = ms;
  }

  clearFaults(): void {
    this.#faults.clear();
  }

  async handle(req: ApiRequest): Promise<ApiResponse> {
    if (this.#faults.latencyMs) await this.rt.sleep(this.#faults.latencyMs);
    const endpoint = req.segments.join('/');
    const token = header(req.headers, 'x-viber-auth-token');
    // "Failing to send the authentication token in the header will result in an error with the
    // missing_auth_token message" ("Authentication token").
    if (!token) return status('invalidAuthToken', 'missing_auth_token');
    const acc = this.#accounts.get(token);
    if (!acc) return status('invalidAuthToken');
    const params = req.parsed.ok ? req.parsed.params : {};
    const res = req.parsed.ok ? await this.#call(acc, endpoint, params) : status('badData');
    let response: unknown = res.body;
    try {
      response = JSON.parse(res.body);
    } catch {
      // a 5xx fault answers plain text
    }
    acc.calls.push({ method: endpoint, params, status: res.status, response, at: this.rt.now() });
    return res;
  }

  async #call(acc: Account, endpoint: string, params: Params): Promise<ApiResponse> {
    const fault = this.#faults.take(endpoint);
    if (fault) return faultResponse(fault);
    switch (endpoint) {
      case 'set_webhook':
        return this.#setWebhook(acc, params);
      case 'send_message':
        return this.#sendMessage(acc, params);
      case 'get_account_info':
        // "Get Account Info" response.
        return json(200, {
          status: 0,
          status_message: 'ok',
          id: acc.id,
          name: acc.name,
          uri: acc.uri,
          icon: acc.avatar ?? '',
          background: '',
          category: 'Business',
          subcategory: 'Customer service',
          location: { lon: 21.01, lat: 52.23 },
          country: 'PL',
          webhook: acc.webhook?.url ?? '',
          event_types: acc.webhook?.eventTypes ?? [],
          subscribers_count: [...acc.users.values()].filter((u) => u.subscribed).length,
          members: [],
        });
      case 'get_user_details': {
        const user = acc.users.get(str(params.id) ?? '');
        if (!user) return status('receiverNotRegistered');
        return json(200, {
          status: 0,
          status_message: 'ok',
          message_token: this.#token(),
          user: {
            id: user.id,
            name: user.name,
            ...(user.avatar ? { avatar: user.avatar } : {}),
            country: user.country,
            language: user.language,
            primary_device_os: 'Android 14',
            api_version: user.api_version,
            viber_version: '24.1.0.0',
            mcc: 260,
            mnc: 1,
            device_type: 'Pixel 8',
          },
        });
      }
      default:
        return { status: 404, body: '', headers: { 'content-type': 'text/plain' } };
    }
  }

  async #setWebhook(acc: Account, params: Params): Promise<ApiResponse> {
    const url = str(params.url) ?? '';
    // Removing the webhook: set_webhook with an empty url ("Removing your webhook").
    if (url === '') {
      acc.webhook = null;
      return json(200, { status: 0, status_message: 'ok' });
    }
    if (!/^https?:\/\//.test(url)) return status('invalidUrl');
    const requested = Array.isArray(params.event_types) ? params.event_types.map(String) : FILTERABLE;
    const eventTypes = FILTERABLE.filter((e) => requested.includes(e));
    const candidate = { url, eventTypes, sendName: params.send_name !== false, sendPhoto: params.send_photo !== false };
    // Viber checks the URL with a signed {"event":"webhook"} callback and needs HTTP 200 back.
    const check = await this.#post(
      acc,
      candidate.url,
      this.#callback({ event: 'webhook', message_token: this.#token() }),
      {
        ...this.retry,
        attempts: 1,
      },
    );
    if (check.status !== 200) return status('invalidUrl');
    acc.webhook = candidate;
    return json(200, { status: 0, status_message: 'ok', event_types: eventTypes });
  }

  #sendMessage(acc: Account, params: Params): ApiResponse {
    if (!acc.webhook) return status('webhookNotSet');
    const receiver = str(params.receiver);
    const type = str(params.type);
    const sender = params.sender as Params | undefined;
    if (!receiver || !type || typeof sender?.name !== 'string') return status('missingData');
    // sender.name: "Max 28 characters"; text: "Max length 7,000 characters" ("Send Message").
    if (sender.name.length > 28) return status('badData');
    const text = str(params.text);
    if (type === 'text' && (text === undefined || text === '')) return status('missingData');
    if (text !== undefined && text.length > 7000) return status('badData');
    const user = acc.users.get(receiver);
    if (!user) return status('receiverNotRegistered');
    if (!user.subscribed) return status('receiverNotSubscribed');
    const messageToken = this.#token();
    acc.sent.push({ kind: 'send_message', receiver, type, text, messageToken, body: params, at: this.rt.now() });
    if (acc.autoReceipts) this.#autoReceipts(acc, messageToken);
    return json(200, { status: 0, status_message: 'ok', message_token: messageToken, chat_hostname: CHAT_HOSTNAME });
  }

  #autoReceipts(acc: Account, token: bigint): void {
    const { deliveredMs, seenMs } = acc.autoReceipts ?? {};
    if (deliveredMs !== undefined)
      this.rt.after(deliveredMs, () => void this.delivered(acc.authToken, token).catch(() => {}));
    if (seenMs !== undefined) this.rt.after(seenMs, () => void this.seen(acc.authToken, token).catch(() => {}));
  }

  #receipt(authToken: string, event: string, token: bigint, desc?: string): Promise<Delivery<ViberCallback>> {
    const acc = this.#account(authToken);
    const sent = acc.sent.find((s) => s.messageToken === token);
    if (!sent) throw new Error(`viber: no message ${token} sent by ${acc.name}`);
    return this.#emit(acc, { event, message_token: token, user_id: sent.receiver, ...(desc ? { desc } : {}) });
  }

  #emit(acc: Account, body: { event: string } & Record<string, unknown>): Promise<Delivery<ViberCallback>> {
    const cb = this.#callback(body);
    acc.callbacks.push(cb);
    const hook = acc.webhook;
    if (!hook) return Promise.resolve({ event: cb, queued: true, ok: false, status: 0, body: '', attempts: 0 });
    if (!ALWAYS.has(cb.event) && !hook.eventTypes.includes(cb.event)) {
      return Promise.resolve({ event: cb, queued: false, ok: true, status: 0, body: '', attempts: 0 });
    }
    const run = acc.chain.then(async (): Promise<Delivery<ViberCallback>> => {
      const r = await this.#post(acc, hook.url, cb, this.retry);
      return { event: cb, queued: false, ok: r.ok, status: r.status, body: r.body, attempts: r.attempts.length };
    });
    acc.chain = run.catch(() => {});
    return run;
  }

  #post(acc: Account, url: string, cb: ViberCallback, policy: RetryPolicy) {
    const body = Buffer.from(stringifyJson(cb));
    return this.rt.deliver(
      {
        url,
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'X-Viber-Content-Signature': hmacSha256Hex(acc.authToken, body),
        },
        body,
      },
      policy,
    );
  }

  #callback(body: { event: string } & Record<string, unknown>): ViberCallback {
    const { event, ...rest } = body;
    return { event, timestamp: this.rt.now(), chat_hostname: CHAT_HOSTNAME, ...rest };
  }

  #rememberUser(acc: Account, input: ViberUserInput): ViberUser {
    const prev = acc.users.get(input.userId);
    const user: ViberUser = {
      id: input.userId,
      name: input.name,
      avatar: input.avatar,
      country: input.country ?? 'PL',
      language: input.language ?? 'pl',
      api_version: input.apiVersion ?? 10,
      subscribed: prev?.subscribed ?? false,
    };
    acc.users.set(user.id, user);
    return user;
  }

  #token(): bigint {
    const t = this.#nextToken;
    this.#nextToken += 1n;
    return t;
  }

  #account(authToken: string): Account {
    const acc = this.#accounts.get(authToken);
    if (!acc) throw new Error(`viber: no account with token ${authToken}`);
    return acc;
  }
}

function userObject(u: ViberUser): Record<string, unknown> {
  return {
    id: u.id,
    name: u.name,
    ...(u.avatar ? { avatar: u.avatar } : {}),
    country: u.country,
    language: u.language,
    api_version: u.api_version,
  };
}

function status(name: ViberStatusName, message: string = name): ApiResponse {
  return json(200, { status: VIBER_STATUS[name], status_message: message });
}

function faultResponse(f: ViberFault): ApiResponse {
  switch (f.kind) {
    case 'status':
      return status(f.name, f.statusMessage);
    case 'rateLimit':
      return status('tooManyRequests');
    case 'serverError':
      return { status: f.status ?? 500, body: 'Internal Server Error', headers: { 'content-type': 'text/plain' } };
  }
}

function header(h: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}
