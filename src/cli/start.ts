import type { Config } from '../config.js';
import { SenderRegistry } from '../channels/senders.js';
import { SmppChannels } from '../channels/sms/smpp-runtime.js';
import { buildApp } from '../http/app.js';
import { observeSends } from '../http/metrics.js';
import { type EventBus, InProcessBus } from '../realtime/bus.js';
import { PgNotifyBus } from '../realtime/pg-bus.js';
import { startAutoClose } from '../services/auto-close.js';
import { deleteExpiredIdempotencyKeys } from '../services/idempotency.js';
import { OutboxWorker } from '../services/outbox-worker.js';
import { WebhookWorker } from '../services/webhook-worker.js';
import { migrate } from '../store/migrate.js';
import { openStore } from '../store/open.js';
import { resolveSecretKey } from './secret.js';

/** `dziennik start`: migrate, serve, and shut down cleanly on SIGTERM/SIGINT. */
export async function startServer(config: Config) {
  const secretKey = resolveSecretKey(config);
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, exclusive: true });
  await migrate(store);
  // Several nodes share one PostgreSQL: their events fan out through LISTEN/NOTIFY (SPEC §5).
  let bus: EventBus;
  let onBusError = (_err: unknown, _what: string) => {};
  if (store.dialect === 'postgres' && config.databaseUrl) {
    const pgBus = new PgNotifyBus({
      connectionString: config.databaseUrl,
      pool: store.pgPool!,
      onError: (err, what) => onBusError(err, what),
    });
    await pgBus.start();
    bus = pgBus;
  } else {
    bus = new InProcessBus();
  }
  const { fastify, app, metrics } = await buildApp({ config: { ...config, secretKey }, store, bus });
  onBusError = (err, what) => fastify.log.warn({ err }, `event bus: ${what}`);
  // Replies are delivered by the outbox worker; SMS over SMPP through one session per channel
  // (both started once the server listens; a changed channel reconnects its session).
  const smpp = new SmppChannels(app);
  const worker = new OutboxWorker(app, new SenderRegistry(app, { smpp }), { observe: observeSends(metrics) });
  // Outgoing webhooks: the services write delivery rows with each change; sent with retries (docs/WEBHOOKS.md).
  const webhooks = new WebhookWorker(app);
  app.bus.subscribe((e) => {
    if (e.type === 'channel.changed')
      void smpp.reload(e.channelId).catch((err) => app.log.error({ err }, 'smpp reload'));
    if (e.type === 'bus.resync') {
      // Events were missed while the LISTEN connection was down: queued replies and changed
      // channels are looked up again (sessions whose channel did not change stay as they are).
      worker.kick();
      void (async () => {
        for (const s of smpp.status()) await smpp.reload(s.channelId);
        await smpp.start();
      })().catch((err) => app.log.error({ err }, 'smpp resync'));
    }
  });
  // The signal handlers come first: a SIGTERM during start-up also shuts down cleanly.
  let stopAutoClose: () => Promise<void> = async () => {};
  let keyCleanup: NodeJS.Timeout | undefined;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    fastify.log.info({ signal }, 'shutting down');
    // Stop accepting, let in-flight requests finish, then release the store (and its lock).
    const timer = setTimeout(() => process.exit(1), 15_000);
    timer.unref();
    // A keep-alive connection whose request finishes during the close would otherwise hold the
    // exit for the server's keep-alive timeout (5 s): close connections as they fall idle.
    const idle = setInterval(() => fastify.server.closeIdleConnections(), 100);
    await fastify.close();
    clearInterval(idle);
    await worker.stop();
    await webhooks.stop();
    await stopAutoClose();
    clearInterval(keyCleanup);
    await smpp.close();
    await bus.close();
    await store.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  await fastify.listen({ port: config.port, host: config.host });
  // Replies queued before a crash or restart go out now; new ones as they are queued.
  if (!stopping) {
    if (store.dialect === 'sqlite') {
      // This process holds the data directory's lock: a claim still standing is a crashed run's,
      // due now rather than when its lease runs out (PostgreSQL: other nodes' claims are live).
      const replies = await worker.releaseClaims();
      const deliveries = await webhooks.releaseClaims();
      if (replies + deliveries > 0) {
        fastify.log.info({ replies, deliveries }, 'claims of the previous run released (it did not stop cleanly)');
      }
    }
    worker.start();
    webhooks.start();
    // Projects with auto-close get their idle dialogs closed, checked every minute.
    stopAutoClose = startAutoClose(app);
    // Idempotency keys last 24 hours; the expired ones are deleted now and every hour (any node may do it).
    const cleanKeys = () =>
      void deleteExpiredIdempotencyKeys(app).catch((err) => app.log.warn({ err }, 'idempotency key clean-up failed'));
    cleanKeys();
    keyCleanup = setInterval(cleanKeys, 3600_000);
    keyCleanup.unref();
    await smpp.start();
  }
  fastify.log.info(
    {
      store: store.dialect,
      dataDir: store.dialect === 'sqlite' ? config.dataDir : undefined,
      publicUrl: config.publicUrl,
    },
    'dziennik is listening',
  );
  const users = await store.db.selectFrom('users').select('id').limit(1).execute();
  if (users.length === 0) {
    process.stderr.write(
      '\nNo accounts yet. Create the first admin (the password is read from standard input):\n' +
        '  npm run dziennik -- create-admin --email you@example.com --project "My company"\n\n',
    );
  }
  return { fastify, app, store, worker, smpp };
}
