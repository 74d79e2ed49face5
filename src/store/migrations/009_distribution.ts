import type { Dialect } from '../types.js';

/**
 * Distribution of new dialogs (SPEC §4.3: first to answer, round-robin among online managers, manual).
 * - `presence`: who has the workspace open, per node. A node writes a row when a manager's first
 *   live connection (the project's WebSocket stream) opens on it, refreshes `seen_at` while it stays
 *   open and deletes the row when the last one closes. A node that dies leaves rows that stop being
 *   refreshed: a manager counts as online only while `seen_at` is recent (services/presence.ts).
 * - `memberships.auto_assigned_at`: when round-robin last gave this member a dialog; the next one
 *   goes to the online manager who waited longest.
 */
export function distribution(d: Dialect): string[] {
  return [
    `CREATE TABLE presence (
      node_id TEXT NOT NULL,
      project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
      user_id BIGINT NOT NULL,
      seen_at BIGINT NOT NULL,
      PRIMARY KEY (project_id, user_id, node_id)
    )`,
    'CREATE INDEX presence_node ON presence (node_id)',
    d === 'postgres'
      ? 'ALTER TABLE memberships ADD COLUMN auto_assigned_at BIGINT'
      : 'ALTER TABLE memberships ADD COLUMN auto_assigned_at INTEGER',
  ];
}
