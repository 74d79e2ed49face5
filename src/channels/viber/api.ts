// A thin Viber REST Bot API client, following https://developers.viber.com/docs/api/rest-bot-api/:
//   "Authentication token"  every request is a POST to <base>/<endpoint> (base
//                           https://chatapi.viber.com/pa) with JSON and the X-Viber-Auth-Token header;
//   "Errors"                the HTTP status is 200 and the outcome is {status, status_message}: 0 ok,
//                           1 invalidUrl, 2 invalidAuthToken, ..., 10 webhookNotSet, 12 tooManyRequests;
//   "Setting a Webhook"     set_webhook {url, event_types, send_name, send_photo}; Viber checks the URL
//                           by POSTing a signed {"event":"webhook"} callback to it and needs HTTP 200;
//                           "Removing your webhook": set_webhook with url "";
//   "Get Account Info"      get_account_info {} → id, name, uri, icon, webhook, event_types, ...
// Transport only. The send methods (send_message, ...) go beside these on top of `call`.
import { PlatformError } from '../../core/errors.js';
import { unreachable } from '../unreachable.js';

export interface ViberApiOptions {
  /** VIBER_API_URL, e.g. `https://chatapi.viber.com/pa` (no trailing slash). */
  baseUrl: string;
  authToken: string;
  fetch?: typeof fetch;
  /** Per request; 15 s by default (set_webhook waits for Viber's own call to the webhook). */
  timeoutMs?: number;
}

/** The "Errors" table: status → its name, as status_message usually carries it. */
export const VIBER_STATUS_NAMES: Record<number, string> = {
  0: 'ok',
  1: 'invalidUrl',
  2: 'invalidAuthToken',
  3: 'badData',
  4: 'missingData',
  5: 'receiverNotRegistered',
  6: 'receiverNotSubscribed',
  7: 'publicAccountBlocked',
  8: 'publicAccountNotFound',
  9: 'publicAccountSuspended',
  10: 'webhookNotSet',
  11: 'receiverNoSuitableDevice',
  12: 'tooManyRequests',
};

/** The callbacks set_webhook can filter; user messages, subscribed and unsubscribed always come. */
export const VIBER_EVENT_TYPES = [
  'delivered',
  'seen',
  'failed',
  'subscribed',
  'unsubscribed',
  'conversation_started',
] as const;

export interface ViberAccountInfo {
  id: string;
  name: string;
  uri: string;
  icon?: string;
  background?: string;
  category?: string;
  subcategory?: string;
  country?: string;
  /** The webhook currently set ("" when none). */
  webhook?: string;
  event_types?: string[];
  subscribers_count?: number;
}

export interface ViberSetWebhookParams {
  url: string;
  event_types?: readonly string[];
  send_name?: boolean;
  send_photo?: boolean;
}

const DEFAULT_TIMEOUT_MS = 15_000;

type ViberAnswer = { status?: number; status_message?: string } & Record<string, unknown>;

export class ViberApi {
  readonly #opts: ViberApiOptions;

  constructor(opts: ViberApiOptions) {
    this.#opts = opts;
  }

  /**
   * POSTs to one endpoint. Resolves with the whole answer when status is 0; throws PlatformError
   * with Viber's status and status_message otherwise (status 0 when Viber was not reached).
   * message_token values are 64-bit integers written as bare JSON numbers; they are read as
   * decimal strings so that no digit is lost.
   */
  async call<T extends object>(
    endpoint: string,
    body: object = {},
  ): Promise<T & { status: 0; status_message: string }> {
    const { baseUrl, authToken } = this.#opts;
    const doFetch = this.#opts.fetch ?? fetch;
    let res: Response;
    let text: string;
    try {
      res = await doFetch(`${baseUrl}/${endpoint}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-viber-auth-token': authToken },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.#opts.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      });
      text = await res.text();
    } catch (e) {
      throw unreachable('viber', e, baseUrl);
    }
    let answer: ViberAnswer | undefined;
    try {
      answer = JSON.parse(text.replace(/"message_token"\s*:\s*(-?\d+)/g, '"message_token":"$1"')) as ViberAnswer;
    } catch {
      // not JSON: described by the HTTP status below
    }
    if (!res.ok || !answer || typeof answer.status !== 'number') {
      throw new PlatformError({
        platform: 'viber',
        status: res.status,
        code: res.status,
        description: `HTTP ${res.status} ${res.statusText}`.trim(),
      });
    }
    if (answer.status !== 0) {
      const name = VIBER_STATUS_NAMES[answer.status];
      throw new PlatformError({
        platform: 'viber',
        status: res.status,
        code: answer.status,
        description: answer.status_message || name || `status ${answer.status}`,
        // 12 tooManyRequests; statuses above the documented table are "General error" (retryable).
        transient: answer.status === 12 || answer.status > 12,
      });
    }
    return answer as T & { status: 0; status_message: string };
  }

  /** Answers the event types Viber will send. */
  setWebhook(params: ViberSetWebhookParams): Promise<{ event_types?: string[] }> {
    return this.call<{ event_types?: string[] }>('set_webhook', params);
  }

  removeWebhook(): Promise<object> {
    return this.call<object>('set_webhook', { url: '' });
  }

  getAccountInfo(): Promise<ViberAccountInfo> {
    return this.call<ViberAccountInfo>('get_account_info', {});
  }

  /**
   * "Send Message" (send_message) with a text message: receiver, type "text", text, and the
   * sender's name (max 28 characters). Answers the message_token (a decimal string here).
   */
  sendText(params: { receiver: string; text: string; senderName: string; trackingData?: string }): Promise<{
    message_token: string;
  }> {
    return this.call<{ message_token: string }>('send_message', {
      receiver: params.receiver,
      min_api_version: 1,
      sender: { name: params.senderName.slice(0, VIBER_MAX_SENDER_NAME) },
      ...(params.trackingData ? { tracking_data: params.trackingData } : {}),
      type: 'text',
      text: params.text,
    });
  }
}

/** "Send Message": sender.name "Max 28 characters"; a text message "Max length 7,000 characters". */
export const VIBER_MAX_SENDER_NAME = 28;
export const VIBER_MAX_TEXT = 7000;
