import type { Selectable } from 'kysely';
import type { DialogRow } from '../store/dialogs.js';
import type { MessagesTable } from '../store/types.js';

/** API shapes of SPEC §7 (camelCase; the fixed names plus a few useful extras). */
const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

export function dialogDto(d: DialogRow) {
  const hasSource = d.visit_id !== null || d.source !== null;
  return {
    id: d.id,
    status: d.status,
    channel: d.channel_type,
    channelId: d.channel_id,
    createdAt: iso(d.created_at),
    closedAt: iso(d.closed_at),
    // An API token closes with a name but no user id.
    closedBy: d.closed_by === null && d.closed_by_name === null ? null : { id: d.closed_by, name: d.closed_by_name },
    closeReason: d.close_reason,
    client: { id: d.client_id, name: d.client_name, phone: d.client_phone, handle: d.client_handle },
    manager: d.manager_id === null ? null : { id: d.manager_id, name: d.manager_name },
    lastResponder:
      d.last_responder_type === null
        ? null
        : { type: d.last_responder_type, id: d.last_responder_id, name: d.last_responder_name },
    lastMessageAt: iso(d.last_message_at),
    lastDirection: d.last_direction,
    source: hasSource
      ? {
          label: d.source,
          utmSource: d.utm_source,
          utmMedium: d.utm_medium,
          utmCampaign: d.utm_campaign,
          utmTerm: d.utm_term,
          utmContent: d.utm_content,
          referrer: d.referrer,
          landingUrl: d.landing_url,
          channelGroup: d.channel_group,
          clickIds: d.click_ids,
        }
      : null,
    canReply: d.outbound_only === 0,
    senderLabel: d.outbound_only === 1 ? 'SMS' : null,
    messageCounts: { in: d.messages_in, out: d.messages_out },
    firstResponseSeconds: d.first_response_seconds,
    unreadCount: d.unread_count,
  };
}
export type DialogDto = ReturnType<typeof dialogDto>;

export function messageDto(m: Selectable<MessagesTable>) {
  let attachments: unknown[] = [];
  if (m.attachments) {
    try {
      const parsed = JSON.parse(m.attachments);
      if (Array.isArray(parsed)) attachments = parsed;
    } catch {
      // stored by us; a broken value shows as no attachments rather than failing the dialog
    }
  }
  return {
    id: m.id,
    dialogId: m.dialog_id,
    direction: m.direction,
    author: { type: m.author_type, id: m.author_id, name: m.author_name },
    text: m.text,
    attachments,
    createdAt: iso(m.created_at),
    // Inbound messages reached us: for the API they are delivered.
    status: m.status === 'received' ? 'delivered' : m.status,
    failureReason: m.failure_reason,
  };
}
export type MessageDto = ReturnType<typeof messageDto>;
