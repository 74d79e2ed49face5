import { createHmac, timingSafeEqual } from 'node:crypto';
import { invalid } from './errors.js';

/**
 * Opaque keyset cursors: the last row's sort key, signed with the server's key and bound to the
 * project and the filters, so a tampered, foreign or reused-with-other-filters cursor is refused.
 */
export interface CursorPayload {
  /** Key values of the last row returned, in sort order. */
  k: (string | number)[];
  /** Digest of the filters the cursor was made for. */
  f: string;
}

function sign(secret: string, scope: string, body: string): string {
  return createHmac('sha256', secret).update(`${scope}\n${body}`).digest('base64url').slice(0, 22);
}

export function encodeCursor(secret: string, scope: string, payload: CursorPayload): string {
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${body}.${sign(secret, scope, body)}`;
}

export function decodeCursor(secret: string, scope: string, cursor: string, field = 'cursor'): CursorPayload {
  const [body, mac, extra] = cursor.split('.');
  if (!body || !mac || extra !== undefined) throw invalid(field, 'is malformed');
  const expected = Buffer.from(sign(secret, scope, body));
  const got = Buffer.from(mac);
  if (expected.length !== got.length || !timingSafeEqual(expected, got)) {
    throw invalid(field, 'is not valid for this project and query');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    throw invalid(field, 'is malformed');
  }
  const p = parsed as CursorPayload;
  if (!p || !Array.isArray(p.k) || typeof p.f !== 'string') throw invalid(field, 'is malformed');
  return p;
}
