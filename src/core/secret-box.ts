import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Channel credentials at rest: AES-256-GCM under a key derived (HKDF-SHA256) from SECRET_KEY.
 * Sealed values look like `v1.<iv>.<ciphertext+tag>` (base64url) and are bound to a context
 * string (e.g. `channel:<project>:<id>`), so a sealed value copied to another row will not open.
 */
const VERSION = 'v1';

function keyFor(secretKey: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secretKey, 'dziennik', 'credentials-v1', 32));
}

export function seal(secretKey: string, context: string, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyFor(secretKey), iv);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${VERSION}.${iv.toString('base64url')}.${body.toString('base64url')}`;
}

export class SecretBoxError extends Error {
  constructor() {
    super('Stored credentials cannot be decrypted: SECRET_KEY changed, or the value was tampered with');
    this.name = 'SecretBoxError';
  }
}

export function open(secretKey: string, context: string, sealed: string): string {
  const [v, ivText, bodyText] = sealed.split('.');
  if (v !== VERSION || !ivText || !bodyText) throw new SecretBoxError();
  const iv = Buffer.from(ivText, 'base64url');
  const body = Buffer.from(bodyText, 'base64url');
  if (iv.length !== 12 || body.length < 16) throw new SecretBoxError();
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyFor(secretKey), iv);
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(body.subarray(body.length - 16));
    return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]).toString('utf8');
  } catch {
    throw new SecretBoxError();
  }
}

/** Shows a credential without revealing it: the last 4 characters. */
export function mask(value: string): string {
  return value.length <= 8 ? '••••' : `••••${value.slice(-4)}`;
}
