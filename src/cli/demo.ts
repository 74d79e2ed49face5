import { randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import { createAdmin } from '../services/accounts.js';
import { makeAppContext } from '../services/context.js';
import { seedProject } from '../services/seed.js';
import { migrate } from '../store/migrate.js';
import { openStore } from '../store/open.js';
import { resolveSecretKey } from './secret.js';
import { startServer } from './start.js';

const DEMO_EMAIL = 'demo@dziennik.local';
const DEMO_PROJECT = 'Demo — Sklep Rowerowy';

/**
 * `dziennik demo`: on first run, a project with months of realistic history and an admin whose
 * generated password is printed once; then the server. (The platform simulator joins it with the
 * channels work.)
 */
export async function startDemo(config: Config, dialogs = 3000) {
  const secretKey = resolveSecretKey(config);
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await migrate(store);
    const existing = await store.db.selectFrom('users').select('id').where('email', '=', DEMO_EMAIL).executeTakeFirst();
    if (!existing) {
      const password = randomBytes(12).toString('base64url');
      const admin = await createAdmin(makeAppContext({ store, config: { ...config, secretKey } }), {
        email: DEMO_EMAIL,
        projectName: DEMO_PROJECT,
        password,
        name: 'Demo Admin',
      });
      process.stderr.write(`dziennik demo: seeding ${dialogs} dialogs into "${DEMO_PROJECT}"…\n`);
      await seedProject(store, { projectId: admin.projectId, dialogs, seed: 1 });
      process.stderr.write(
        `\n  Demo account (shown once): ${DEMO_EMAIL} / ${password}\n  Project id ${admin.projectId}; the API: ${config.publicUrl}/api/openapi.json\n\n`,
      );
    } else {
      process.stderr.write(
        `dziennik demo: using the existing demo project in ${config.databaseUrl ? 'DATABASE_URL' : config.dataDir}\n`,
      );
    }
  } finally {
    await store.close();
  }
  return startServer(config);
}
