// A thin Graph API client for the Messenger Platform. Pages followed:
//   Requests     https://developers.facebook.com/docs/graph-api/overview — <base>/<node>/<edge> with
//                an access token; errors are {error:{message,type,code,error_subcode,fbtrace_id}}
//                (https://developers.facebook.com/docs/graph-api/guides/error-handling): 190 invalid
//                OAuth token, 100 invalid parameter / unknown object, 4 / 17 / 32 / 613 rate limits,
//                1 / 2 temporary.
//   Security     https://developers.facebook.com/docs/graph-api/security#appsecret_proof —
//                appsecret_proof = hex HMAC-SHA256 of the access token keyed by the app secret. Sent
//                on every page-token call: Graph refuses a wrong one, so a wrong app secret shows up
//                at once instead of as unverifiable webhooks later.
//   Page         GET /{page-id}?fields=id,name (the connection test).
//   Webhooks     https://developers.facebook.com/docs/graph-api/reference/page/subscribed_apps —
//                POST /{page-id}/subscribed_apps?subscribed_fields=... with the page access token
//                subscribes the app to the page; DELETE unsubscribes it.
//                https://developers.facebook.com/docs/graph-api/reference/app/subscriptions —
//                POST /{app-id}/subscriptions (object=page, callback_url, verify_token, fields) with
//                the app access token `{app-id}|{app-secret}` sets the app's callback URL; Meta
//                verifies it with the GET handshake (hub.mode, hub.verify_token, hub.challenge).
// Transport only. The Send API (POST /{page-id}/messages) goes beside these on top of `request`.
import { createHmac } from 'node:crypto';
import { PlatformError } from '../../core/errors.js';
import { unreachable } from '../unreachable.js';

export interface GraphApiOptions {
  /** GRAPH_API_URL, e.g. `https://graph.facebook.com/v21.0` (version included, no trailing slash). */
  baseUrl: string;
  /** A page access token, or an app access token `{app-id}|{app-secret}`. */
  accessToken: string;
  /** When given, every call carries appsecret_proof. */
  appSecret?: string;
  fetch?: typeof fetch;
  /** Per request; 10 s by default (an app subscription waits for Meta's handshake). */
  timeoutMs?: number;
}

/** The webhook fields the inbound pipeline handles. */
export const MESSENGER_SUBSCRIBED_FIELDS = [
  'messages',
  'messaging_postbacks',
  'message_deliveries',
  'message_reads',
  'message_echoes',
  'messaging_referrals',
] as const;

export interface GraphPage {
  id: string;
  name: string;
}

interface GraphErrorBody {
  error?: { message?: string; type?: string; code?: number; error_subcode?: number; fbtrace_id?: string };
}

const DEFAULT_TIMEOUT_MS = 10_000;
// Rate limits (4 app, 17 user, 32 page, 613 custom) and temporary errors (1 unknown, 2 service).
const TRANSIENT_CODES = new Set([1, 2, 4, 17, 32, 613]);

export function appSecretProof(accessToken: string, appSecret: string): string {
  return createHmac('sha256', appSecret).update(accessToken).digest('hex');
}

export class GraphApi {
  readonly #opts: GraphApiOptions;

  constructor(opts: GraphApiOptions) {
    this.#opts = opts;
  }

  /**
   * One Graph call. `path` is `/{node}` or `/{node}/{edge}` (segments are URL-encoded here);
   * `query` goes into the query string, `body` is sent as JSON. The token travels in the
   * Authorization header, never in the URL. Throws PlatformError with Graph's own message.
   */
  async request<T>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string[],
    opts: { query?: Record<string, string>; body?: object } = {},
  ): Promise<T> {
    const { baseUrl, accessToken, appSecret } = this.#opts;
    const doFetch = this.#opts.fetch ?? fetch;
    const url = new URL(`${baseUrl}/${path.map(encodeURIComponent).join('/')}`);
    for (const [k, v] of Object.entries(opts.query ?? {})) url.searchParams.set(k, v);
    if (appSecret) url.searchParams.set('appsecret_proof', appSecretProof(accessToken, appSecret));
    let res: Response;
    let text: string;
    try {
      res = await doFetch(url, {
        method,
        headers: {
          authorization: `Bearer ${accessToken}`,
          accept: 'application/json',
          ...(opts.body ? { 'content-type': 'application/json' } : {}),
        },
        ...(opts.body ? { body: JSON.stringify(opts.body) } : {}),
        signal: AbortSignal.timeout(this.#opts.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      });
      text = await res.text();
    } catch (e) {
      throw unreachable('messenger', e, baseUrl);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: described by the HTTP status below
    }
    const error = (body as GraphErrorBody | undefined)?.error;
    if (res.ok && body !== undefined && !error) return body as T;
    const retryAfter = res.headers.get('retry-after');
    throw new PlatformError({
      platform: 'messenger',
      status: res.status,
      code: error?.code ?? res.status,
      ...(error?.error_subcode !== undefined ? { subcode: error.error_subcode } : {}),
      description: error?.message ?? `HTTP ${res.status} ${res.statusText}`.trim(),
      ...(retryAfter && /^\d+$/.test(retryAfter) ? { retryAfter: Number(retryAfter) } : {}),
      ...(error?.code !== undefined && TRANSIENT_CODES.has(error.code) ? { transient: true } : {}),
    });
  }

  /** The page's id and name: proves the token works for this page. */
  getPage(pageId: string): Promise<GraphPage> {
    return this.request<GraphPage>('GET', [pageId], { query: { fields: 'id,name' } });
  }

  /** Subscribes the app (the one the page token belongs to) to the page's messaging webhooks. */
  subscribeApp(pageId: string, fields: readonly string[] = MESSENGER_SUBSCRIBED_FIELDS): Promise<{ success: boolean }> {
    return this.request<{ success: boolean }>('POST', [pageId, 'subscribed_apps'], {
      query: { subscribed_fields: fields.join(',') },
    });
  }

  unsubscribeApp(pageId: string): Promise<{ success: boolean }> {
    return this.request<{ success: boolean }>('DELETE', [pageId, 'subscribed_apps']);
  }

  /**
   * Sets the app's Page webhook (needs an app access token). Meta calls callbackUrl with the
   * verification GET before it answers; a failed handshake comes back as error 2200.
   */
  setAppWebhook(
    appId: string,
    params: { callbackUrl: string; verifyToken: string; fields?: readonly string[] },
  ): Promise<{ success: boolean }> {
    return this.request<{ success: boolean }>('POST', [appId, 'subscriptions'], {
      body: {
        object: 'page',
        callback_url: params.callbackUrl,
        verify_token: params.verifyToken,
        fields: (params.fields ?? MESSENGER_SUBSCRIBED_FIELDS).join(','),
        include_values: true,
      },
    });
  }

  /**
   * The Send API (https://developers.facebook.com/docs/messenger-platform/reference/send-api/):
   * POST /{page-id}/messages {recipient:{id}, messaging_type, message:{text}} → {recipient_id,
   * message_id}. Inside the 24-hour window messaging_type is RESPONSE; after it, MESSAGE_TAG with
   * tag HUMAN_AGENT (a person answering, up to 7 days after the person's last message).
   */
  sendText(
    pageId: string,
    params: { psid: string; text: string; tag?: 'HUMAN_AGENT' | undefined },
  ): Promise<{ recipient_id: string; message_id: string }> {
    return this.request<{ recipient_id: string; message_id: string }>('POST', [pageId, 'messages'], {
      body: {
        recipient: { id: params.psid },
        messaging_type: params.tag ? 'MESSAGE_TAG' : 'RESPONSE',
        ...(params.tag ? { tag: params.tag } : {}),
        message: { text: params.text },
      },
    });
  }
}

/** Send API: "text must be UTF-8 and has a 2000 character limit". */
export const MESSENGER_MAX_TEXT = 2000;
/** The standard messaging window and the HUMAN_AGENT tag's (Messenger Platform "Message Tags"). */
export const MESSENGER_WINDOW_MS = 24 * 60 * 60 * 1000;
export const MESSENGER_HUMAN_AGENT_MS = 7 * 24 * 60 * 60 * 1000;
