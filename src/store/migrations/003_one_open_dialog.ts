import type { Dialect } from '../types.js';

/**
 * At most one open (new or open) dialog per client identity (R7: the client's next message goes
 * to it). The inbound pipeline serialises on the identity row; this index also stops a manual
 * reopen racing a new message. It includes project_id, like every unique key.
 */
export function oneOpenDialogPerIdentity(_d: Dialect): string[] {
  return [
    "CREATE UNIQUE INDEX dialogs_one_open_per_identity ON dialogs (project_id, identity_id) WHERE status IN ('new', 'open')",
  ];
}
