import { memo } from 'react';
import type { Dialog } from '../api';

/**
 * Small logos of the four channels, drawn here (no trademark artwork copied): Telegram's paper
 * plane on a blue disc, Viber's handset in a purple bubble, Messenger's lightning bubble, and a
 * green message bubble for SMS. Each is one <img> of an inline SVG (data: URI, allowed by the CSP):
 * one DOM node, decoded once and reused, which matters in a list that mounts rows as it scrolls.
 * `label` is the accessible name (and the hover title); an empty label makes the icon decorative
 * (beside text that names the channel already).
 */
const SVG: Record<Dialog['channel'], string> = {
  telegram:
    '<circle cx="12" cy="12" r="11" fill="#229ED9"/>' +
    '<path fill="#fff" d="M5.4 11.7l11.7-4.5c.54-.2 1.02.13.84.96l-2 9.4c-.15.67-.54.83-1.1.52l-3.04-2.24-1.47 1.41c-.16.16-.3.3-.61.3l.22-3.1 5.63-5.08c.24-.22-.05-.34-.38-.12l-6.96 4.38-3-.94c-.65-.2-.66-.65.14-.96z"/>',
  viber:
    '<rect x="1" y="1" width="22" height="22" rx="6" fill="#7360F2"/>' +
    '<path fill="#fff" d="M12 4.6c-4.3 0-6.9 2.1-6.9 6.2 0 2.5.9 4.2 2.5 5.2v3.2l2.6-2.4c.6.1 1.2.1 1.8.1 4.3 0 6.9-2 6.9-6.1S16.3 4.6 12 4.6z"/>' +
    '<path fill="#7360F2" d="M9.5 8.1c.3-.2.7-.2.9.1l.8 1.1c.2.3.2.7-.1.9l-.4.3c.3.8 1 1.6 1.9 2l.3-.4c.2-.3.6-.3.9-.1l1.1.8c.3.2.3.6.1.9l-.5.6c-.3.3-.8.5-1.3.3-2.1-.7-3.7-2.3-4.3-4.3-.1-.5 0-1 .3-1.3z"/>',
  messenger:
    '<path fill="#0866FF" d="M12 2.2C6.5 2.2 2.2 6.2 2.2 11.3c0 2.8 1.3 5.3 3.5 6.9v3.6l3.3-1.9c.9.3 1.9.4 3 .4 5.5 0 9.8-4 9.8-9.1S17.5 2.2 12 2.2z"/>' +
    '<path fill="#fff" d="M6.4 14.1l2.9-4.6c.5-.7 1.4-.9 2.1-.4l2.3 1.7c.2.2.5.2.7 0l3.1-2.4c.4-.3.9.2.7.6l-2.9 4.6c-.5.7-1.4.9-2.1.4l-2.3-1.7c-.2-.2-.5-.2-.7 0l-3.1 2.4c-.4.3-.9-.2-.7-.6z"/>',
  sms:
    '<rect x="1" y="1" width="22" height="22" rx="6" fill="#2F9E44"/>' +
    '<path fill="#fff" d="M5 6.6C5 5.7 5.7 5 6.6 5h10.8c.9 0 1.6.7 1.6 1.6v7.8c0 .9-.7 1.6-1.6 1.6H10.2L6.6 19v-3h-.1C5.7 16 5 15.3 5 14.4z"/>' +
    '<circle cx="8.9" cy="10.5" r="1.1" fill="#2F9E44"/><circle cx="12" cy="10.5" r="1.1" fill="#2F9E44"/><circle cx="15.1" cy="10.5" r="1.1" fill="#2F9E44"/>',
};

export const CHANNEL_ICON_SRC: Record<Dialog['channel'], string> = Object.fromEntries(
  Object.entries(SVG).map(([k, body]) => [
    k,
    `data:image/svg+xml,${encodeURIComponent(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24">${body}</svg>`)}`,
  ]),
) as Record<Dialog['channel'], string>;

export const ChannelIcon = memo(function ChannelIcon({
  channel,
  label,
  size = 20,
}: {
  channel: Dialog['channel'];
  label: string;
  size?: number;
}) {
  return (
    <img
      src={CHANNEL_ICON_SRC[channel]}
      alt={label}
      title={label || undefined}
      width={size}
      height={size}
      style={STYLE}
      data-channel={channel}
      draggable={false}
    />
  );
});

const STYLE = { flex: 'none', display: 'block' } as const;
