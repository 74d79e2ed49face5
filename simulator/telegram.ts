// A fake Telegram Bot API, following https://core.telegram.org/bots/api:
//   requests  <base>/bot<token>/<METHOD> with GET or POST, query / JSON / form parameters, method
//             names case-insensitive ("Making requests");
//   answers   {ok:true,result} or {ok:false,error_code,description,parameters?} where
//             parameters.retry_after is the ResponseParameters of a flood-control 429;
//   webhooks  setWebhook(url, secret_token, allowed_updates, drop_pending_updates) and an Update
//             POSTed as JSON with the "X-Telegram-Bot-Api-Secret-Token" header ("setWebhook");
//   updates   update_id increasing by one per bot ("Update"); Message with message_id unique in
//             its chat, date in Unix seconds, from / chat ("Message", "User", "Chat").
import {
  type ApiCall,
  type ApiRequest,
  type ApiResponse,
  type Delivery,
  FaultQueue,
  json,
  jsonField,
  type Params,
  type RetryPolicy,
  type Runtime,
  str,
} from './runtime.js';

export type TelegramFault =
  /** 429 with parameters.retry_after (seconds), https://core.telegram.org/bots/api#responseparameters */
  | { kind: 'rateLimit'; retryAfter?: number }
  | { kind: 'serverError'; status?: number; description?: string }
  /** the documented 403 "Forbidden: bot was blocked by the user" */
  | { kind: 'blocked' }
  | { kind: 'error'; status: number; description: string };

export interface TelegramUserInput {
  userId: number;
  firstName: string;
  lastName?: string;
  username?: string;
  languageCode?: string;
}

export interface TelegramSentMessage {
  method: string;
  chatId: number;
  messageId: number;
  text: string;
  params: Params;
  at: number;
}

export interface TelegramWebhook {
  url: string;
  secretToken?: string;
  allowedUpdates?: string[];
  maxConnections: number;
}

// https://core.telegram.org/bots/api#user
interface TgUser {
  id: number;
  is_bot: boolean;
  first_name: string;
  last_name?: string;
  username?: string;
  language_code?: string;
}

export type TelegramUpdate = { update_id: number } & Record<string, unknown>;

interface Bot {
  token: string;
  id: number;
  username: string;
  firstName: string;
  webhook: TelegramWebhook | null;
  nextUpdateId: number;
  /** private chats: one message_id sequence per chat, shared by both sides */
  lastMessageId: Map<number, number>;
  users: Map<number, TgUser & { blocked: boolean }>;
  updates: Map<number, TelegramUpdate>;
  /** update ids not yet acknowledged by a webhook 2xx or a getUpdates offset */
  pending: number[];
  /** update ids queued for or being posted to the webhook */
  inflight: Set<number>;
  sent: TelegramSentMessage[];
  calls: ApiCall[];
  chain: Promise<unknown>;
  lastError?: { date: number; message: string };
}

// Default allowed_updates leaves these out ("setWebhook": allowed_updates).
const NOT_BY_DEFAULT = new Set(['chat_member', 'message_reaction', 'message_reaction_count']);
const SECRET_TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

export class TelegramSim {
  readonly #bots = new Map<string, Bot>();
  readonly #faults = new FaultQueue<TelegramFault>();

  constructor(
    private readonly rt: Runtime,
    private readonly retry: RetryPolicy,
  ) {}

  /** Registers a bot as @BotFather would; the token's numeric prefix is the bot's user id. */
  createBot(opts: { token: string; username: string; firstName?: string }): { id: number; token: string } {
    const prefix = Number(opts.token.split(':')[0]);
    const id = Number.isSafeInteger(prefix) && prefix > 0 ? prefix : 7_000_000_000 + this.#bots.size;
    this.#bots.set(opts.token, {
      token: opts.token,
      id,
      username: opts.username.replace(/^@/, ''),
      firstName: opts.firstName ?? opts.username,
      webhook: null,
      nextUpdateId: 100_000_001 + this.#bots.size * 1_000_000,
      lastMessageId: new Map(),
      users: new Map(),
      updates: new Map(),
      pending: [],
      inflight: new Set(),
      sent: [],
      calls: [],
      chain: Promise.resolve(),
    });
    return { id, token: opts.token };
  }

  /** A user writes to the bot in a private chat; "/start <payload>" is what a t.me deep link sends. */
  sendFromUser(token: string, input: TelegramUserInput & { text: string }): Promise<Delivery<TelegramUpdate>> {
    const bot = this.#bot(token);
    const user = this.#rememberUser(bot, input);
    const message: Record<string, unknown> = {
      message_id: this.#nextMessageId(bot, user.id),
      from: publicUser(user),
      chat: privateChat(user),
      date: this.#unixNow(),
      text: input.text,
    };
    // Commands come with a bot_command entity ("MessageEntity").
    const command = /^\/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?/.exec(input.text);
    if (command) message.entities = [{ offset: 0, length: command[0].length, type: 'bot_command' }];
    return this.#emit(bot, { message });
  }

  /** Opening https://t.me/<bot>?start=<payload> and pressing Start ("Deep linking", https://core.telegram.org/bots/features#deep-linking). */
  start(token: string, user: TelegramUserInput, payload?: string): Promise<Delivery<TelegramUpdate>> {
    return this.sendFromUser(token, { ...user, text: payload ? `/start ${payload}` : '/start' });
  }

  /** The user blocks the bot: later sends get 403, and the bot gets a my_chat_member update ("ChatMemberUpdated"). */
  blockBot(token: string, userId: number): Promise<Delivery<TelegramUpdate>> {
    return this.#setBlocked(token, userId, true);
  }

  unblockBot(token: string, userId: number): Promise<Delivery<TelegramUpdate>> {
    return this.#setBlocked(token, userId, false);
  }

  /** Posts an already delivered update again, byte-identical, as a platform retry would. */
  redeliver(token: string, updateId: number): Promise<Delivery<TelegramUpdate>> {
    const bot = this.#bot(token);
    const update = bot.updates.get(updateId);
    if (!update) throw new Error(`telegram: no update ${updateId}`);
    return this.#enqueue(bot, update);
  }

  sent(token: string): TelegramSentMessage[] {
    return [...this.#bot(token).sent];
  }

  calls(token: string): ApiCall[] {
    return [...this.#bot(token).calls];
  }

  updates(token: string): TelegramUpdate[] {
    return [...this.#bot(token).updates.values()];
  }

  webhook(token: string): TelegramWebhook | null {
    return this.#bot(token).webhook;
  }

  bots(): { id: number; token: string; username: string; webhook: string | null }[] {
    return [...this.#bots.values()].map((b) => ({
      id: b.id,
      token: b.token,
      username: b.username,
      webhook: b.webhook?.url ?? null,
    }));
  }

  /** The next `times` calls (by default the send* methods) fail with the fault. */
  failNext(fault: TelegramFault, opts: { times?: number; method?: string } = {}): void {
    const method = opts.method?.toLowerCase();
    this.#faults.push(fault, opts.times ?? 1, (m) => (method ? m === method : m.startsWith('send')));
  }

  /** Every API answer is delayed by ms. */
  setLatency(ms: number): void {
    this.#faults.latencyMs = ms;
  }

  clearFaults(): void {
    this.#faults.clear();
  }

  /** Serves <base>/bot<token>/<method>; server.ts passes the segments after the prefix. */
  async handle(req: ApiRequest): Promise<ApiResponse> {
    if (this.#faults.latencyMs) await this.rt.sleep(this.#faults.latencyMs);
    const [botSegment, methodName, ...rest] = req.segments;
    if (!botSegment?.startsWith('bot') || !methodName || rest.length > 0) return fail(404, 'Not Found');
    const bot = this.#bots.get(botSegment.slice(3));
    // An unknown or revoked token: 401 "Unauthorized".
    if (!bot) return fail(401, 'Unauthorized');
    const method = methodName.toLowerCase();
    const params = req.parsed.ok ? req.parsed.params : {};
    const res = req.parsed.ok ? this.#call(bot, method, params) : fail(400, `Bad Request: ${req.parsed.error}`);
    bot.calls.push({
      method: methodName,
      params,
      status: res.status,
      response: JSON.parse(res.body),
      at: this.rt.now(),
    });
    return res;
  }

  #call(bot: Bot, method: string, params: Params): ApiResponse {
    const fault = this.#faults.take(method);
    if (fault) return faultResponse(fault);
    switch (method) {
      case 'getme':
        return ok({
          id: bot.id,
          is_bot: true,
          first_name: bot.firstName,
          username: bot.username,
          can_join_groups: true,
          can_read_all_group_messages: false,
          supports_inline_queries: false,
          can_connect_to_business: false,
          has_main_web_app: false,
        });
      case 'setwebhook':
        return this.#setWebhook(bot, params);
      case 'deletewebhook': {
        const had = bot.webhook !== null;
        bot.webhook = null;
        if (truthy(params.drop_pending_updates)) bot.pending = [];
        return ok(true, had ? 'Webhook was deleted' : 'Webhook is already deleted');
      }
      case 'getwebhookinfo':
        return ok({
          url: bot.webhook?.url ?? '',
          has_custom_certificate: false,
          pending_update_count: bot.pending.length,
          ...(bot.webhook ? { max_connections: bot.webhook.maxConnections } : {}),
          ...(bot.webhook?.allowedUpdates ? { allowed_updates: bot.webhook.allowedUpdates } : {}),
          ...(bot.lastError ? { last_error_date: bot.lastError.date, last_error_message: bot.lastError.message } : {}),
        });
      case 'getupdates':
        return this.#getUpdates(bot, params);
      case 'sendmessage':
        return this.#sendMessage(bot, params);
      case 'sendchataction':
        return this.#chat(bot, params) ? ok(true) : fail(400, 'Bad Request: chat not found');
      default:
        // Methods this simulator does not implement answer like an unknown method.
        return fail(404, 'Not Found');
    }
  }

  #setWebhook(bot: Bot, params: Params): ApiResponse {
    const url = str(params.url) ?? '';
    if (url === '') {
      bot.webhook = null;
      return ok(true, 'Webhook was deleted');
    }
    if (!/^https?:\/\//.test(url))
      return fail(400, 'Bad Request: bad webhook: An HTTPS URL must be provided for webhook');
    const secret = str(params.secret_token);
    if (secret !== undefined && !SECRET_TOKEN.test(secret)) {
      return fail(400, 'Bad Request: secret token contains unallowed characters');
    }
    const allowed = jsonField(params.allowed_updates);
    const same = bot.webhook?.url === url && bot.webhook.secretToken === secret;
    bot.webhook = {
      url,
      secretToken: secret,
      allowedUpdates: Array.isArray(allowed) ? allowed.map(String) : bot.webhook?.allowedUpdates,
      maxConnections: Number(params.max_connections ?? 40),
    };
    if (truthy(params.drop_pending_updates)) bot.pending = [];
    // Updates that waited while no webhook was set go out now, in order.
    for (const id of bot.pending) {
      if (!bot.inflight.has(id)) void this.#enqueue(bot, bot.updates.get(id)!).catch(() => {});
    }
    return ok(true, same ? 'Webhook is already set' : 'Webhook was set');
  }

  #getUpdates(bot: Bot, params: Params): ApiResponse {
    if (bot.webhook) {
      return fail(
        409,
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
      );
    }
    const offset = Number(params.offset ?? 0);
    if (offset > 0) bot.pending = bot.pending.filter((id) => id >= offset);
    const limit = Math.min(100, Math.max(1, Number(params.limit ?? 100)));
    return ok(bot.pending.slice(0, limit).map((id) => bot.updates.get(id)));
  }

  #sendMessage(bot: Bot, params: Params): ApiResponse {
    const chatId = str(params.chat_id);
    if (chatId === undefined || chatId === '') return fail(400, 'Bad Request: chat_id is empty');
    const text = str(params.text) ?? '';
    if (text.trim() === '') return fail(400, 'Bad Request: message text is empty');
    // "Text of the message to be sent, 1-4096 characters after entities parsing" ("sendMessage").
    if ([...text].length > 4096) return fail(400, 'Bad Request: message is too long');
    const user = this.#chat(bot, params);
    if (!user) return fail(400, 'Bad Request: chat not found');
    if (user.blocked) return fail(403, 'Forbidden: bot was blocked by the user');
    const messageId = this.#nextMessageId(bot, user.id);
    const date = this.#unixNow();
    bot.sent.push({ method: 'sendMessage', chatId: user.id, messageId, text, params, at: this.rt.now() });
    return ok({
      message_id: messageId,
      from: { id: bot.id, is_bot: true, first_name: bot.firstName, username: bot.username },
      chat: privateChat(user),
      date,
      text,
    });
  }

  #chat(bot: Bot, params: Params): (TgUser & { blocked: boolean }) | undefined {
    const id = Number(str(params.chat_id));
    return Number.isSafeInteger(id) ? bot.users.get(id) : undefined;
  }

  async #setBlocked(token: string, userId: number, blocked: boolean): Promise<Delivery<TelegramUpdate>> {
    const bot = this.#bot(token);
    const user = bot.users.get(userId);
    if (!user) throw new Error(`telegram: user ${userId} never wrote to ${bot.username}`);
    user.blocked = blocked;
    const date = this.#unixNow();
    const me = { id: bot.id, is_bot: true, first_name: bot.firstName, username: bot.username };
    return this.#emit(bot, {
      my_chat_member: {
        chat: privateChat(user),
        from: publicUser(user),
        date,
        old_chat_member: { status: blocked ? 'member' : 'kicked', user: me, ...(blocked ? {} : { until_date: 0 }) },
        new_chat_member: { status: blocked ? 'kicked' : 'member', user: me, ...(blocked ? { until_date: 0 } : {}) },
      },
    });
  }

  #emit(bot: Bot, body: Record<string, unknown>): Promise<Delivery<TelegramUpdate>> {
    const update: TelegramUpdate = { update_id: bot.nextUpdateId++, ...body };
    bot.updates.set(update.update_id, update);
    const type = Object.keys(body)[0]!;
    const allowed = bot.webhook?.allowedUpdates;
    const wanted = allowed && allowed.length > 0 ? allowed.includes(type) : !NOT_BY_DEFAULT.has(type);
    if (!wanted) return Promise.resolve({ event: update, queued: false, ok: true, status: 0, body: '', attempts: 0 });
    bot.pending.push(update.update_id);
    if (!bot.webhook)
      return Promise.resolve({ event: update, queued: true, ok: false, status: 0, body: '', attempts: 0 });
    return this.#enqueue(bot, update);
  }

  /** Deliveries to one bot go out one after another, in update_id order. */
  #enqueue(bot: Bot, update: TelegramUpdate): Promise<Delivery<TelegramUpdate>> {
    bot.inflight.add(update.update_id);
    const run = bot.chain.then(async (): Promise<Delivery<TelegramUpdate>> => {
      const hook = bot.webhook;
      if (!hook) return { event: update, queued: true, ok: false, status: 0, body: '', attempts: 0 };
      const headers: Record<string, string> = { 'Content-Type': 'application/json' };
      if (hook.secretToken) headers['X-Telegram-Bot-Api-Secret-Token'] = hook.secretToken;
      const r = await this.rt.deliver(
        { url: hook.url, method: 'POST', headers, body: Buffer.from(JSON.stringify(update)) },
        this.retry,
      );
      if (r.ok) {
        bot.pending = bot.pending.filter((id) => id !== update.update_id);
      } else {
        const last = r.attempts[r.attempts.length - 1]!;
        bot.lastError = {
          date: this.#unixNow(),
          message: last.error ? `Connection refused: ${last.error}` : `Wrong response from the webhook: ${last.status}`,
        };
      }
      return { event: update, queued: false, ok: r.ok, status: r.status, body: r.body, attempts: r.attempts.length };
    });
    const settled = run.finally(() => bot.inflight.delete(update.update_id));
    bot.chain = settled.catch(() => {});
    return settled;
  }

  #rememberUser(bot: Bot, input: TelegramUserInput): TgUser & { blocked: boolean } {
    const prev = bot.users.get(input.userId);
    const user = {
      id: input.userId,
      is_bot: false,
      first_name: input.firstName,
      ...(input.lastName ? { last_name: input.lastName } : {}),
      ...(input.username ? { username: input.username } : {}),
      ...(input.languageCode ? { language_code: input.languageCode } : {}),
      blocked: prev?.blocked ?? false,
    };
    bot.users.set(user.id, user);
    return user;
  }

  #nextMessageId(bot: Bot, chatId: number): number {
    const next = (bot.lastMessageId.get(chatId) ?? 0) + 1;
    bot.lastMessageId.set(chatId, next);
    return next;
  }

  #unixNow(): number {
    return Math.floor(this.rt.now() / 1000);
  }

  #bot(token: string): Bot {
    const bot = this.#bots.get(token);
    if (!bot) throw new Error(`telegram: no bot with token ${token}`);
    return bot;
  }
}

function publicUser(u: TgUser): TgUser {
  const { id, is_bot, first_name, last_name, username, language_code } = u;
  return {
    id,
    is_bot,
    first_name,
    ...(last_name ? { last_name } : {}),
    ...(username ? { username } : {}),
    ...(language_code ? { language_code } : {}),
  };
}

// https://core.telegram.org/bots/api#chat — a private chat's id is the user's id.
function privateChat(u: TgUser): Record<string, unknown> {
  return {
    id: u.id,
    first_name: u.first_name,
    ...(u.last_name ? { last_name: u.last_name } : {}),
    ...(u.username ? { username: u.username } : {}),
    type: 'private',
  };
}

function ok(result: unknown, description?: string): ApiResponse {
  return json(200, description ? { ok: true, result, description } : { ok: true, result });
}

function fail(status: number, description: string, parameters?: Record<string, unknown>): ApiResponse {
  return json(status, { ok: false, error_code: status, description, ...(parameters ? { parameters } : {}) });
}

function faultResponse(f: TelegramFault): ApiResponse {
  switch (f.kind) {
    case 'rateLimit': {
      const s = f.retryAfter ?? 1;
      return fail(429, `Too Many Requests: retry after ${s}`, { retry_after: s });
    }
    case 'serverError':
      return fail(f.status ?? 500, f.description ?? 'Internal Server Error');
    case 'blocked':
      return fail(403, 'Forbidden: bot was blocked by the user');
    case 'error':
      return fail(f.status, f.description);
  }
}

function truthy(v: unknown): boolean {
  return v === true || v === 'true' || v === '1' || v === 1;
}
