import type { Dialect } from '../types.js';

/**
 * The client's id on the dialog's platform (Telegram user id, Viber id, Messenger PSID, E.164 for
 * SMS), denormalised onto the dialog like the name and phone, so that the export's
 * `client_messenger_id` column needs no join per row. Existing dialogs are filled from their identity.
 */
export function clientExternalId(_d: Dialect): string[] {
  return [
    'ALTER TABLE dialogs ADD COLUMN client_external_id TEXT',
    `UPDATE dialogs SET client_external_id = (
      SELECT ci.external_id FROM client_identities ci WHERE ci.project_id = dialogs.project_id AND ci.id = dialogs.identity_id
    )`,
  ];
}
