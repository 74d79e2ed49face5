import type { Dialect } from '../types.js';

/**
 * Outbound delivery (issue 3 §4, §5).
 * - `message_parts`: an SMS sent in several parts has one SMSC message id per part, and receipts
 *   arrive per part (SPEC §7: "a long message is delivered when all its parts are, failed when any
 *   part fails"). Unique on the platform id like messages are.
 * - `outbox_dialog_pending`: the claim query takes only the head of each dialog's queue (per-dialog
 *   order); this partial index answers "is there an earlier pending row of this dialog?".
 */
export function outbound(_d: Dialect): string[] {
  return [
    `CREATE TABLE message_parts (
      project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
      channel_id BIGINT NOT NULL,
      platform_message_id TEXT NOT NULL,
      message_id BIGINT NOT NULL,
      seq INTEGER NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('sent', 'delivered', 'failed')),
      failure_reason TEXT,
      PRIMARY KEY (project_id, channel_id, platform_message_id)
    )`,
    'CREATE INDEX message_parts_message ON message_parts (project_id, message_id)',
    "CREATE INDEX outbox_dialog_pending ON outbox (project_id, dialog_id, id) WHERE status = 'pending'",
  ];
}
