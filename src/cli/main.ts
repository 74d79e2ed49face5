import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.js';
import { AppError } from '../core/errors.js';
import { createAdmin, createApiToken } from '../services/accounts.js';
import { makeAppContext } from '../services/context.js';
import { migrate } from '../store/migrate.js';
import { openStore, StoreLockedError } from '../store/open.js';
import { resolveSecretKey } from './secret.js';
import { startServer } from './start.js';

const HELP = `dziennik — the messaging desk

  dziennik start                                   serve on PORT with data in DATA_DIR or DATABASE_URL
  dziennik migrate                                 apply database migrations
  dziennik create-admin --email E --project NAME   create an admin (password on standard input)
  dziennik token create --project ID --role admin|supervisor|manager --name N
  dziennik token list --project ID                 the project's API tokens (never the tokens themselves)
  dziennik token revoke --project ID --id N        revoke a token (it answers 401 from then on)
  dziennik seed --project ID --dialogs N [--seed S]
  dziennik export --project ID --kind dialogs|messages [--status ... --from ... --to ...] > file.csv
  dziennik migrate-to-postgres --database-url URL  copy the SQLite store in DATA_DIR into an empty PostgreSQL
                                                   database (server stopped), verifying the row counts
  dziennik demo                                    a seeded demo project, its admin, and the platform
                                                   simulator with a page to write as a client (DEMO_SIM_PORT, DEMO_SMPP_PORT)

Environment: PORT, HOST, DATA_DIR, DATABASE_URL, PUBLIC_URL, SECRET_KEY, LOG_LEVEL,
TELEGRAM_API_URL, VIBER_API_URL, GRAPH_API_URL, SMS_OUTBOUND_ONLY_PREFIXES.
`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function intArg(v: string | undefined, name: string): number {
  if (v === undefined || !/^\d{1,15}$/.test(v))
    throw new AppError('validation_failed', `--${name} must be a positive integer`);
  return Number(v);
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(HELP);
    return command ? 0 : 2;
  }
  const config = loadConfig(process.env);
  const withStore = async <T>(fn: (store: Awaited<ReturnType<typeof openStore>>, secretKey: string) => Promise<T>) => {
    const secretKey = resolveSecretKey(config);
    const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    try {
      await migrate(store);
      return await fn(store, secretKey);
    } finally {
      await store.close();
    }
  };
  switch (command) {
    case 'start':
      await startServer(config);
      return -1; // keeps running
    case 'demo': {
      const { startDemo } = await import('./demo.js');
      await startDemo(config);
      return -1;
    }
    case 'migrate': {
      const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
      try {
        const applied = await migrate(store);
        process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'up to date\n');
      } finally {
        await store.close();
      }
      return 0;
    }
    case 'create-admin': {
      const { values } = parseArgs({
        args: rest,
        options: { email: { type: 'string' }, project: { type: 'string' }, name: { type: 'string' } },
      });
      if (!values.email || !values.project)
        throw new AppError('validation_failed', 'create-admin needs --email and --project');
      if (process.stdin.isTTY) process.stderr.write('Password (then Enter and Ctrl-D): ');
      const password = (await readStdin()).replace(/\r?\n$/, '');
      return withStore(async (store, secretKey) => {
        const r = await createAdmin(makeAppContext({ store, config: { ...config, secretKey } }), {
          email: values.email!,
          projectName: values.project!,
          password,
          name: values.name,
        });
        process.stdout.write(`admin ${r.email} (user ${r.userId}) of project "${r.projectName}" (id ${r.projectId})\n`);
        return 0;
      });
    }
    case 'token': {
      const [sub, ...args] = rest;
      if (sub === 'list' || sub === 'revoke') {
        const { values } = parseArgs({ args, options: { project: { type: 'string' }, id: { type: 'string' } } });
        const projectId = intArg(values.project, 'project');
        const tokenId = sub === 'revoke' ? intArg(values.id, 'id') : 0;
        return withStore(async (store, secretKey) => {
          const { tokenCommand } = await import('./tokens.js');
          return tokenCommand(
            sub === 'list' ? { kind: 'list', projectId } : { kind: 'revoke', projectId, tokenId },
            { store, config: { ...config, secretKey } },
            process.stdout,
          );
        });
      }
      if (sub !== 'create')
        throw new AppError(
          'validation_failed',
          'usage: dziennik token create --project ID --role ROLE --name N | token list --project ID | token revoke --project ID --id N',
        );
      const { values } = parseArgs({
        args,
        options: { project: { type: 'string' }, role: { type: 'string' }, name: { type: 'string' } },
      });
      const role = values.role;
      if (role !== 'admin' && role !== 'supervisor' && role !== 'manager') {
        throw new AppError('validation_failed', '--role must be admin, supervisor or manager');
      }
      if (!values.name) throw new AppError('validation_failed', '--name is required');
      const projectId = intArg(values.project, 'project');
      return withStore(async (store, secretKey) => {
        const t = await createApiToken(makeAppContext({ store, config: { ...config, secretKey } }), {
          projectId,
          role,
          name: values.name!,
          createdBy: null,
        });
        process.stderr.write(`token ${t.id} (${role}) for project ${projectId}; it is shown only this once:\n`);
        process.stdout.write(`${t.token}\n`);
        return 0;
      });
    }
    case 'seed': {
      const { values } = parseArgs({
        args: rest,
        options: { project: { type: 'string' }, dialogs: { type: 'string' }, seed: { type: 'string' } },
      });
      const projectId = intArg(values.project, 'project');
      const dialogs = intArg(values.dialogs, 'dialogs');
      const seed = values.seed === undefined ? undefined : intArg(values.seed, 'seed');
      const { seedCommand } = await import('./seed.js');
      return withStore(async (store) => {
        await seedCommand({ projectId, dialogs, seed }, store, process.stdout);
        return 0;
      });
    }
    case 'export': {
      const { exportCommand } = await import('./export.js');
      return withStore(async (store, secretKey) =>
        exportCommand(rest, { store, config: { ...config, secretKey } }, process.stdout),
      );
    }
    case 'migrate-to-postgres': {
      const { values } = parseArgs({ args: rest, options: { 'database-url': { type: 'string' } } });
      const databaseUrl = values['database-url'];
      if (!databaseUrl || !/^postgres(ql)?:\/\//.test(databaseUrl))
        throw new AppError('validation_failed', 'usage: dziennik migrate-to-postgres --database-url postgres://…');
      const { migrateToPostgres } = await import('./migrate-to-postgres.js');
      const report = await migrateToPostgres({
        dataDir: config.dataDir,
        databaseUrl,
        log: (line) => process.stderr.write(`${line}\n`),
      });
      for (const r of report) process.stdout.write(`${r.table}\t${r.source}\t${r.target}\n`);
      process.stderr.write(
        `copied ${report.length} tables from ${config.dataDir}; row counts verified.\n` +
          'Start the server with DATABASE_URL set and the same SECRET_KEY (or DATA_DIR/secret.key).\n',
      );
      return 0;
    }
    default:
      process.stderr.write(`unknown command: ${command}\n\n${HELP}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError || err instanceof StoreLockedError) {
      process.stderr.write(`dziennik: ${err.message}\n`);
      process.exit(2);
    }
    if (err instanceof AppError) {
      process.stderr.write(`dziennik: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`dziennik: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
