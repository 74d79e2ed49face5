import type { Config } from '../config.js';
import { SenderRegistry } from '../channels/senders.js';
import { SmppChannels } from '../channels/sms/smpp-runtime.js';
import { buildApp } from '../http/app.js';
import { OutboxWorker } from '../services/outbox-worker.js';
import { migrate } from '../store/migrate.js';
import { openStore } from '../store/open.js';
import { resolveSecretKey } from './secret.js';

/** `dziennik start`: migrate, serve, and shut down cleanly on SIGTERM/SIGINT. */
export async function startServer(config: Config) {
  const secretKey = resolveSecretKey(config);
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, exclusive: true });
  await migrate(store);
  const { fastify, app } = await buildApp({ config: { ...config, secretKey }, store });
  // Replies are delivered by the outbox worker; SMS over SMPP through one session per channel
  // (both started once the server listens; a changed channel reconnects its session).
  const smpp = new SmppChannels(app);
  const worker = new OutboxWorker(app, new SenderRegistry(app, { smpp }));
  app.bus.subscribe((e) => {
    if (e.type === 'channel.changed')
      void smpp.reload(e.channelId).catch((err) => app.log.error({ err }, 'smpp reload'));
  });
  // The signal handlers come first: a SIGTERM during start-up also shuts down cleanly.
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    fastify.log.info({ signal }, 'shutting down');
    // Stop accepting, let in-flight requests finish, then release the store (and its lock).
    const timer = setTimeout(() => process.exit(1), 15_000);
    timer.unref();
    await fastify.close();
    await worker.stop();
    await smpp.close();
    await store.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  await fastify.listen({ port: config.port, host: config.host });
  // Replies queued before a crash or restart go out now; new ones as they are queued.
  if (!stopping) {
    worker.start();
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
