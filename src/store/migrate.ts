import { type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import { initialSchema } from './migrations/001_initial.js';
import { searchIndexes } from './migrations/002_search.js';
import { oneOpenDialogPerIdentity } from './migrations/003_one_open_dialog.js';
import { outbound } from './migrations/004_outbound.js';
import { clientExternalId } from './migrations/005_client_external_id.js';
import { admin } from './migrations/006_admin.js';
import { analyticsIndexes } from './migrations/007_analytics.js';
import { webhooks } from './migrations/008_webhooks.js';
import { distribution } from './migrations/009_distribution.js';
import { activityHour } from './migrations/010_activity_hour.js';
import { idempotencyKeys } from './migrations/011_idempotency_keys.js';
import type { Store } from './open.js';
import type { Dialect } from './types.js';

/** Migrations in order; each is a list of statements per dialect, applied in one transaction. */
const MIGRATIONS: [string, (d: Dialect) => string[]][] = [
  ['001_initial', initialSchema],
  ['002_search', searchIndexes],
  ['003_one_open_dialog', oneOpenDialogPerIdentity],
  ['004_outbound', outbound],
  ['005_client_external_id', clientExternalId],
  ['006_admin', admin],
  ['007_analytics', analyticsIndexes],
  ['008_webhooks', webhooks],
  ['009_distribution', distribution],
  ['010_activity_hour', activityHour],
  ['011_idempotency_keys', idempotencyKeys],
];

class StaticProvider implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    const out: Record<string, Migration> = {};
    for (const [name, statements] of MIGRATIONS) {
      out[name] = {
        up: async (db) => {
          for (const stmt of statements(this.dialect)) await sql.raw(stmt).execute(db);
        },
      };
    }
    return out;
  }
}

export async function migrate(store: Store): Promise<string[]> {
  const migrator = new Migrator({ db: store.db, provider: new StaticProvider(store.dialect) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error;
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
