import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe } from 'node:test';
import pg from 'pg';
import { loadConfig } from '../config.js';
import { buildApp } from '../http/app.js';
import { createApiToken, hashPassword } from '../services/accounts.js';
import type { AppContext, ProjectContext } from '../services/context.js';
import { makeAppContext } from '../services/context.js';
import { migrate } from '../store/migrate.js';
import { openStore, type Store } from '../store/open.js';
import type { Role } from '../store/types.js';

/**
 * Test harness: the same test file runs against SQLite always, and PostgreSQL when
 * TEST_DATABASE_URL is set — each in a database of its own, created and dropped by the test.
 */
export type StoreKind = 'sqlite' | 'postgres';

/** SQLite always; PostgreSQL when TEST_DATABASE_URL is set. TEST_STORES=postgres narrows the run. */
export function storeKinds(): StoreKind[] {
  const all: StoreKind[] = process.env.TEST_DATABASE_URL ? ['sqlite', 'postgres'] : ['sqlite'];
  const only = process.env.TEST_STORES?.split(',').map((s) => s.trim());
  return only ? all.filter((k) => only.includes(k)) : all;
}

let counter = 0;

export interface TestStore {
  store: Store;
  kind: StoreKind;
  /** Connection string of the throwaway PostgreSQL database, or the SQLite data directory. */
  location: string;
  destroy(): Promise<void>;
}

export async function createTestStore(kind: StoreKind): Promise<TestStore> {
  if (kind === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dziennik-test-'));
    const store = await openStore({ dataDir: dir });
    await migrate(store);
    return {
      store,
      kind,
      location: dir,
      async destroy() {
        await store.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const base = process.env.TEST_DATABASE_URL!;
  const name = `dz_test_${process.pid}_${Date.now()}_${counter++}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  const store = await openStore({ databaseUrl: url.toString(), dataDir: os.tmpdir(), poolSize: 5 });
  await migrate(store);
  return {
    store,
    kind,
    location: url.toString(),
    async destroy() {
      await store.close();
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export const TEST_SECRET = 'test-secret-key-that-is-long-enough-0123456789';

export function testConfig(overrides: Record<string, string> = {}) {
  const c = loadConfig({ LOG_LEVEL: 'silent', SECRET_KEY: TEST_SECRET, ...overrides });
  return { ...c, secretKey: TEST_SECRET };
}

/** Runs `fn` once per store kind inside a describe block; `env.ts` is ready inside tests. */
export function forEachStore(title: string, fn: (env: { readonly ts: TestStore; readonly kind: StoreKind }) => void) {
  for (const kind of storeKinds()) {
    describe(`${title} [${kind}]`, () => {
      const env = { kind } as { ts: TestStore; kind: StoreKind };
      before(async () => {
        env.ts = await createTestStore(kind);
      });
      after(async () => {
        await env.ts?.destroy();
      });
      fn(env);
    });
  }
}

export function appContext(store: Store, clock: () => number = Date.now): AppContext {
  return makeAppContext({ store, config: testConfig(), clock });
}

export async function buildTestApp(store: Store, clock?: () => number) {
  return buildApp({ config: testConfig(), store, clock, logger: false });
}

/** Fixture builders that write through the store, the way the product's own code would. */
export async function createProject(store: Store, name = 'Test project', timeZone = 'Europe/Warsaw') {
  const row = await store.db
    .insertInto('projects')
    .values({
      name,
      time_zone: timeZone,
      language: 'pl',
      public_key: `pk_test_${counter++}_${Date.now()}`,
      settings: '{}',
      created_at: Date.now(),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export const TEST_PASSWORD = 'correct horse battery staple';
let cachedHash: string | undefined;

export async function createUser(store: Store, projectId: number, role: Role, name: string, email?: string) {
  cachedHash ??= await hashPassword(TEST_PASSWORD);
  const user = await store.db
    .insertInto('users')
    .values({
      email: email ?? `${name.toLowerCase().replace(/[^a-z]+/g, '.')}.${counter++}@example.test`,
      name,
      password_hash: cachedHash,
      locale: null,
      created_at: Date.now(),
    })
    .returning(['id', 'email', 'name'])
    .executeTakeFirstOrThrow();
  await store.db
    .insertInto('memberships')
    .values({ project_id: projectId, user_id: user.id, role, created_at: Date.now() })
    .execute();
  return user;
}

export async function createToken(store: Store, projectId: number, role: Role) {
  const { token } = await createApiToken(appContext(store), {
    projectId,
    role,
    name: `${role} token`,
    createdBy: null,
  });
  return token;
}

export function projectContext(
  store: Store,
  projectId: number,
  actor: ProjectContext['actor'],
  timeZone = 'Europe/Warsaw',
): ProjectContext {
  return { ...appContext(store), project: { id: projectId, name: 'p', timeZone, language: 'pl' }, actor };
}
