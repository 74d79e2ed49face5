import type { ReactNode } from 'react';
import type { LogMessageKey } from './messages';

/**
 * Message text as text (never HTML): React escapes every string. http(s) addresses become links
 * that open in a new tab without handing the page to the target (`noopener noreferrer`); anything
 * else (javascript:, data:, mailto:...) stays plain text.
 */
const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const TRAILING = /[.,;:!?)\]}'"»”]+$/;

export function safeHttpUrl(raw: string | null | undefined): string | null {
  if (!raw) return null;
  try {
    const u = new URL(raw);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

export function LinkifiedText({ text }: { text: string }) {
  const parts: ReactNode[] = [];
  let last = 0;
  for (const match of text.matchAll(URL_RE)) {
    let url = match[0];
    const trail = TRAILING.exec(url)?.[0] ?? '';
    if (trail) url = url.slice(0, -trail.length);
    const start = match.index ?? 0;
    const href = safeHttpUrl(url);
    if (!href) continue;
    if (start > last) parts.push(text.slice(last, start));
    parts.push(
      <a key={start} href={href} target="_blank" rel="noopener noreferrer">
        {url}
      </a>,
    );
    last = start + url.length;
  }
  if (last === 0) return <>{text}</>;
  if (last < text.length) parts.push(text.slice(last));
  return <>{parts}</>;
}

/** "2 min 5 s", "3 h 10 min", "2 d 4 h": two units at most. */
export function formatDuration(
  seconds: number | null | undefined,
  m: (k: LogMessageKey, v?: Record<string, string | number>) => string,
): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '';
  const s = Math.max(0, Math.round(seconds));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const min = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d > 0) return [m('dur.d', { d }), h ? m('dur.h', { h }) : ''].filter(Boolean).join(' ');
  if (h > 0) return [m('dur.h', { h }), min ? m('dur.m', { m: min }) : ''].filter(Boolean).join(' ');
  if (min > 0) return [m('dur.m', { m: min }), sec ? m('dur.s', { s: sec }) : ''].filter(Boolean).join(' ');
  return m('dur.s', { s: sec });
}
