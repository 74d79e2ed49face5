import { PlatformError } from '../core/errors.js';

/**
 * The error for a platform we could not reach at all (no HTTP answer): a timeout or a network
 * failure. It names the host, never the URL (Telegram's URL carries the bot token).
 */
export function unreachable(platform: PlatformError['platform'], e: unknown, baseUrl: string): PlatformError {
  const err = e as { name?: string; cause?: { code?: string } };
  const timeout = err.name === 'TimeoutError' || err.name === 'AbortError';
  const code = timeout ? 'ETIMEDOUT' : (err.cause?.code ?? 'network_error');
  let host = baseUrl;
  try {
    host = new URL(baseUrl).host;
  } catch {
    // keep the configured base as is
  }
  return new PlatformError({
    platform,
    status: 0,
    code,
    description: timeout ? `No answer from ${host} in time` : `Could not reach ${host} (${code})`,
  });
}
