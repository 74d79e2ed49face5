// A thin Telegram Bot API client, following https://core.telegram.org/bots/api:
//   "Making requests"     POST <base>/bot<token>/<method> with a JSON body; every answer is
//                         {ok:true,result} or {ok:false,error_code,description,parameters?};
//   "ResponseParameters"  parameters.retry_after (seconds) on a flood-control 429;
//   "getMe", "setWebhook" (url, secret_token: 1–256 of A-Za-z0-9_-, allowed_updates),
//   "deleteWebhook", "getWebhookInfo".
// Transport only: no database, no config reading. A method is one line on top of `call`, so the
// send methods (sendMessage, ...) go beside these.
import { PlatformError } from '../../core/errors.js';
import { unreachable } from '../unreachable.js';

export interface TelegramApiOptions {
  /** TELEGRAM_API_URL, e.g. `https://api.telegram.org` (no trailing slash). */
  baseUrl: string;
  botToken: string;
  /** Injected for tests and proxies; the global fetch otherwise. */
  fetch?: typeof fetch;
  /** Per request; 10 s by default. */
  timeoutMs?: number;
}

/** https://core.telegram.org/bots/api#user — what getMe returns. */
export interface TelegramBotUser {
  id: number;
  is_bot: boolean;
  first_name: string;
  last_name?: string;
  username?: string;
  can_join_groups?: boolean;
  can_read_all_group_messages?: boolean;
  supports_inline_queries?: boolean;
}

/** https://core.telegram.org/bots/api#webhookinfo */
export interface TelegramWebhookInfo {
  url: string;
  has_custom_certificate: boolean;
  pending_update_count: number;
  ip_address?: string;
  last_error_date?: number;
  last_error_message?: string;
  max_connections?: number;
  allowed_updates?: string[];
}

export interface SetWebhookParams {
  url: string;
  /** Sent back in X-Telegram-Bot-Api-Secret-Token on every update. */
  secret_token?: string;
  allowed_updates?: readonly string[];
  max_connections?: number;
  drop_pending_updates?: boolean;
}

/** `<bot id>:<35 characters>`, as @BotFather issues them. */
export const TELEGRAM_BOT_TOKEN = /^\d{1,20}:[A-Za-z0-9_-]{35}$/;
/** setWebhook: "1-256 characters. Only characters A-Z, a-z, 0-9, _ and - are allowed." */
export const TELEGRAM_SECRET_TOKEN = /^[A-Za-z0-9_-]{1,256}$/;
/** https://core.telegram.org/bots/api#sendmessage (the parameters we use). */
export interface SendMessageParams {
  chat_id: number | string;
  text: string;
  /** Plain text: no parse_mode, so nothing a manager types is read as markup. */
  link_preview_options?: { is_disabled?: boolean };
  protect_content?: boolean;
}

/** "Text of the message to be sent, 1-4096 characters after entities parsing". */
export const TELEGRAM_MAX_TEXT = 4096;

/**
 * The updates the inbound pipeline handles: messages (with /start deep links), edits, and
 * my_chat_member (a user blocking or unblocking the bot).
 */
export const TELEGRAM_ALLOWED_UPDATES = ['message', 'edited_message', 'my_chat_member'] as const;

const DEFAULT_TIMEOUT_MS = 10_000;

interface TelegramAnswer<T> {
  ok: boolean;
  result?: T;
  description?: string;
  error_code?: number;
  parameters?: { retry_after?: number; migrate_to_chat_id?: number };
}

export class TelegramApi {
  readonly #opts: TelegramApiOptions;

  constructor(opts: TelegramApiOptions) {
    this.#opts = opts;
  }

  /**
   * Calls one Bot API method. Resolves with `result`; throws PlatformError with Telegram's own
   * `description` and `error_code` (or status 0 when Telegram was not reached). The token is part
   * of the URL, so no error message here ever contains the URL.
   */
  async call<T>(method: string, params: object = {}): Promise<T> {
    const { baseUrl, botToken } = this.#opts;
    const doFetch = this.#opts.fetch ?? fetch;
    let res: Response;
    let text: string;
    try {
      res = await doFetch(`${baseUrl}/bot${botToken}/${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(params),
        signal: AbortSignal.timeout(this.#opts.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      });
      text = await res.text();
    } catch (e) {
      throw unreachable('telegram', e, baseUrl);
    }
    let body: TelegramAnswer<T> | undefined;
    try {
      body = JSON.parse(text) as TelegramAnswer<T>;
    } catch {
      // A proxy's HTML page or an empty answer: described by the HTTP status below.
    }
    if (body?.ok === true && res.ok) return body.result as T;
    const retryAfter = body?.parameters?.retry_after;
    throw new PlatformError({
      platform: 'telegram',
      status: res.status,
      code: body?.error_code ?? res.status,
      description: body?.description ?? `HTTP ${res.status} ${res.statusText}`.trim(),
      ...(typeof retryAfter === 'number' ? { retryAfter } : {}),
    });
  }

  getMe(): Promise<TelegramBotUser> {
    return this.call<TelegramBotUser>('getMe');
  }

  setWebhook(params: SetWebhookParams): Promise<true> {
    return this.call<true>('setWebhook', params);
  }

  deleteWebhook(params: { drop_pending_updates?: boolean } = {}): Promise<true> {
    return this.call<true>('deleteWebhook', params);
  }

  getWebhookInfo(): Promise<TelegramWebhookInfo> {
    return this.call<TelegramWebhookInfo>('getWebhookInfo');
  }

  /** "sendMessage": text of 1–4096 characters; answers the sent Message (we keep its message_id). */
  sendMessage(params: SendMessageParams): Promise<{ message_id: number; chat: { id: number } }> {
    return this.call<{ message_id: number; chat: { id: number } }>('sendMessage', params);
  }
}
