/**
 * Crash harness (issue 6): a real `dziennik start` child, killed with SIGKILL at random moments
 * while signed Telegram webhooks stream in and replies are queued over the API, then restarted.
 * The replies go to the Telegram simulator running in this process (TELEGRAM_API_URL).
 *
 * At the end, with every unacknowledged webhook redelivered (as Telegram does) and the outbox
 * drained: every webhook that got a 2xx is stored exactly once, and every reply whose POST got 201
 * reached the simulator. Reply POSTs carry an `Idempotency-Key`; one that was in flight at a kill
 * (no answer) is sent again with the same key after the restart, as a careful integration would, and
 * no reply may then be stored twice. Delivery to the platform is at-least-once (docs/ARCHITECTURE.md): a kill
 * between the platform's answer and our commit sends that reply again, so duplicates are counted
 * and reported separately, not hidden.
 *
 *   node --import tsx bench/crash.ts        CRASH_ROUNDS=50 BENCH_STORES=sqlite,postgres
 *   PostgreSQL: TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test)
 */
import type { ChildProcess } from 'node:child_process';
import { startSimulator } from '../simulator/server.js';
import { insertSealedChannel } from '../src/testing/fixtures.js';
import { createProject, createTestStore, type StoreKind, TEST_SECRET } from '../src/testing/harness.js';
import { createToken } from '../src/testing/harness.js';
import { cliEnv, exited, startServerProcess } from '../src/testing/server-process.js';

const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 50);
const STORES = (process.env.BENCH_STORES ?? 'sqlite,postgres').split(/[,|]/).filter(Boolean) as StoreKind[];
process.env.TEST_DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/test';
const USERS = 20;
const WEBHOOK_CONCURRENCY = 4;
const REPLY_CONCURRENCY = 2;
const BOT_TOKEN = '7000000009:AAE-crash-bench-token-00000000000';
const SECRET = 'dz_crash-bench_0123456789';
const DRAIN_TIMEOUT_MS = 180_000;

interface Result {
  store: StoreKind;
  kills: number;
  webhooksAcked: number;
  webhooksStoredOnce: number;
  webhooksLost: number;
  webhooksDuplicated: number;
  repliesAcked: number;
  repliesUnknown: number;
  /** Of the unanswered POSTs retried with their key: answered from the first request's commit. */
  retriesReplayed: number;
  /** Outgoing messages with the same text (a retried POST stored twice): must be 0. */
  repliesStoredTwice: number;
  repliesDelivered: number;
  repliesMissing: number;
  repliesDuplicated: number;
  extraSends: number;
  seconds: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function run(kind: StoreKind): Promise<Result> {
  const started = Date.now();
  const ts = await createTestStore(kind);
  const sim = await startSimulator({ retry: { attempts: 1, delayMs: 5 } });
  try {
    const store = ts.store;
    const projectId = await createProject(store, 'crash');
    const token = await createToken(store, projectId, 'admin');
    const channelId = await insertSealedChannel(
      store,
      projectId,
      'telegram',
      { botToken: BOT_TOKEN },
      { webhookSecret: SECRET },
    );
    sim.telegram.createBot({ token: BOT_TOKEN, username: 'crash_bot' });
    // The simulator must know the users to accept sendMessage to them (no webhook is set, so
    // these updates just wait in its getUpdates queue).
    for (let u = 0; u < USERS; u++)
      void sim.telegram.sendFromUser(BOT_TOKEN, { userId: 5000 + u, firstName: `K${u}`, text: 'hi' }).catch(() => {});

    const vars = cliEnv({
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      SECRET_KEY: TEST_SECRET,
      TELEGRAM_API_URL: sim.urls.telegram,
      ...(kind === 'postgres' ? { DATABASE_URL: ts.location } : { DATA_DIR: ts.location }),
    });

    let nextUpdate = 1_000_000;
    const newUpdate = () => {
      const id = nextUpdate++;
      const userId = 5000 + (id % USERS);
      return {
        id,
        platformId: `${userId}:${id}`,
        body: JSON.stringify({
          update_id: id,
          message: {
            message_id: id,
            from: { id: userId, is_bot: false, first_name: `K${userId % USERS}` },
            chat: { id: userId, type: 'private', first_name: `K${userId % USERS}` },
            date: Math.floor(Date.now() / 1000),
            text: `crash ${id}`,
          },
        }),
      };
    };
    type Update = ReturnType<typeof newUpdate>;
    const pendingUpdates: Update[] = [];
    const ackedUpdates = new Map<string, Update>();
    const ackedReplies = new Set<string>();
    const unknownReplies = new Set<string>();
    /** Reply POSTs that got no answer (in flight at a kill): retried with their key after the restart. */
    const unanswered: { text: string; dialogId: number }[] = [];
    let retriesReplayed = 0;
    let replySeq = 0;
    let dialogIds: number[] = [];

    const postUpdate = async (port: number, u: Update): Promise<boolean> => {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/webhooks/telegram/${channelId}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET },
          body: u.body,
        });
        await res.arrayBuffer();
        if (res.status >= 200 && res.status < 300) {
          ackedUpdates.set(u.platformId, u);
          return true;
        }
        throw new Error(`webhook ${u.id}: HTTP ${res.status}`);
      } catch (e) {
        if ((e as Error).message.startsWith('webhook ')) throw e;
        pendingUpdates.push(u); // not acknowledged: Telegram redelivers it later
        return false;
      }
    };

    /** A reply POST with its Idempotency-Key (the text): true if it was a repeat answered from an earlier commit, undefined if no answer. */
    const postReply = async (port: number, text: string, dialogId: number): Promise<boolean | undefined> => {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/api/v1/projects/${projectId}/dialogs/${dialogId}/reply`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'idempotency-key': `crash-${text.replace(/ /g, '-')}`,
          },
          body: JSON.stringify({ text }),
        });
        const body = await res.text();
        if (res.status !== 201) throw new Error(`reply: HTTP ${res.status} ${body}`);
        ackedReplies.add(text);
        return res.headers.get('idempotent-replayed') === 'true';
      } catch (e) {
        if ((e as Error).message.startsWith('reply: ')) throw e;
        return undefined;
      }
    };
    /** The unanswered reply POSTs, sent again with the same key (before any new traffic). */
    const retryUnanswered = async (port: number) => {
      while (unanswered.length > 0) {
        const r = unanswered[0]!;
        const replayed = await postReply(port, r.text, r.dialogId);
        if (replayed === undefined) throw new Error('the server went away during the retries');
        if (replayed) retriesReplayed++;
        unanswered.shift();
      }
    };

    /** Webhooks and replies until `stop()` or the server dies. */
    const traffic = (port: number, opts: { replies: boolean }) => {
      let stopped = false;
      const webhookWorker = async () => {
        while (!stopped) {
          const u = pendingUpdates.shift() ?? newUpdate();
          if (!(await postUpdate(port, u))) return;
        }
      };
      const replyWorker = async () => {
        while (!stopped && dialogIds.length > 0) {
          const text = `reply ${++replySeq}`;
          const dialogId = dialogIds[replySeq % dialogIds.length]!;
          if ((await postReply(port, text, dialogId)) === undefined) {
            unknownReplies.add(text); // in flight at the kill: may or may not have been queued
            unanswered.push({ text, dialogId });
            return;
          }
          await sleep(20);
        }
      };
      const all = Promise.all([
        ...Array.from({ length: WEBHOOK_CONCURRENCY }, webhookWorker),
        ...(opts.replies ? Array.from({ length: REPLY_CONCURRENCY }, replyWorker) : []),
      ]);
      return {
        done: all,
        stop: () => {
          stopped = true;
        },
      };
    };

    const dialogsOfChannel = async () =>
      (await store.db.selectFrom('dialogs').select('id').where('channel_id', '=', channelId).execute()).map(
        (d) => d.id,
      );

    let kills = 0;
    const killTimes: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const server = startServerProcess(vars);
      const port = await server.listening;
      if (round === 0) {
        // Warm-up: one message from each client, so every reply has a dialog to go to.
        for (let u = 0; u < USERS; u++) await postUpdate(port, newUpdate());
      }
      if (dialogIds.length < USERS) dialogIds = await dialogsOfChannel();
      await retryUnanswered(port);
      const t = traffic(port, { replies: true });
      await sleep(150 + Math.random() * 1200);
      server.child.kill('SIGKILL');
      killTimes.push(Date.now());
      kills++;
      await exited(server.child);
      t.stop();
      await t.done;
      const stored = await storedCounts();
      for (const id of ackedUpdates.keys()) {
        if (!stored.has(id)) throw new Error(`round ${round + 1}: acknowledged webhook ${id} was lost`);
      }
      if ((round + 1) % 10 === 0 || round + 1 === ROUNDS) {
        console.error(
          `[${kind}] kill ${round + 1}/${ROUNDS}: ${ackedUpdates.size} webhooks acked, ${ackedReplies.size} replies acked`,
        );
      }
    }

    // The last start: redeliver what was not acknowledged, then let the outbox drain
    // (rows a killed node had claimed wait for their lease to expire).
    const last: { child: ChildProcess; listening: Promise<number> } = startServerProcess(vars);
    const port = await last.listening;
    while (pendingUpdates.length > 0) {
      const u = pendingUpdates.shift()!;
      if (!(await postUpdate(port, u))) throw new Error('the last server went away');
    }
    await retryUnanswered(port);
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    for (;;) {
      const r = await store.db
        .selectFrom('outbox')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('status', '=', 'pending')
        .executeTakeFirstOrThrow();
      if (Number(r.n) === 0) break;
      if (Date.now() > deadline) {
        console.error(`[${kind}] outbox not drained after ${DRAIN_TIMEOUT_MS / 1000}s: ${r.n} pending`);
        break;
      }
      await sleep(500);
    }
    last.child.kill('SIGTERM');
    await exited(last.child);

    const stored = await storedCounts();
    let storedOnce = 0;
    let lost = 0;
    let duplicated = 0;
    for (const id of ackedUpdates.keys()) {
      const n = stored.get(id) ?? 0;
      if (n === 1) storedOnce++;
      else if (n === 0) lost++;
      else duplicated++;
    }
    const sentCount = new Map<string, number>();
    for (const s of sim.telegram.sent(BOT_TOKEN)) sentCount.set(s.text, (sentCount.get(s.text) ?? 0) + 1);
    let delivered = 0;
    let missing = 0;
    let dup = 0;
    let extra = 0;
    for (const text of ackedReplies) {
      const n = sentCount.get(text) ?? 0;
      if (n === 0) missing++;
      else delivered++;
      if (n > 1) {
        dup++;
        extra += n - 1;
      }
    }
    if (process.env.CRASH_DEBUG) {
      const sends = sim.telegram.sent(BOT_TOKEN);
      for (const [text, n] of sentCount) {
        if (n < 2) continue;
        const at = sends.filter((x) => x.text === text).map((x) => x.at - started);
        const kill = killTimes.map((k) => k - started).find((k) => k >= at[0]!);
        console.error(`[${kind}] ${text} sent ${n}x at ${at.join(', ')} ms; next kill at ${kill ?? '—'} ms`);
      }
    }
    const storedTwice = await store.db
      .selectFrom('messages')
      .select(['text', (eb) => eb.fn.countAll<number>().as('n')])
      .where('channel_id', '=', channelId)
      .where('direction', '=', 'out')
      .groupBy('text')
      .having((eb) => eb.fn.countAll(), '>', 1)
      .execute();
    return {
      store: kind,
      kills,
      webhooksAcked: ackedUpdates.size,
      webhooksStoredOnce: storedOnce,
      webhooksLost: lost,
      webhooksDuplicated: duplicated,
      repliesAcked: ackedReplies.size,
      repliesUnknown: unknownReplies.size,
      retriesReplayed,
      repliesStoredTwice: storedTwice.length,
      repliesDelivered: delivered,
      repliesMissing: missing,
      repliesDuplicated: dup,
      extraSends: extra,
      seconds: (Date.now() - started) / 1000,
    };

    async function storedCounts() {
      const rows = await store.db
        .selectFrom('messages')
        .select(['platform_message_id', (eb) => eb.fn.countAll<number>().as('n')])
        .where('channel_id', '=', channelId)
        .where('direction', '=', 'in')
        .groupBy('platform_message_id')
        .execute();
      return new Map(rows.map((r) => [String(r.platform_message_id), Number(r.n)]));
    }
  } finally {
    await sim.close();
    await ts.destroy();
  }
}

const results: Result[] = [];
for (const kind of STORES) results.push(await run(kind));

const cols: [string, (r: Result) => string | number][] = [
  ['store', (r) => r.store],
  ['kills', (r) => r.kills],
  ['webhooks 2xx', (r) => r.webhooksAcked],
  ['stored once', (r) => r.webhooksStoredOnce],
  ['lost', (r) => r.webhooksLost],
  ['stored twice+', (r) => r.webhooksDuplicated],
  ['replies 201', (r) => r.repliesAcked],
  ['reached sim', (r) => r.repliesDelivered],
  ['missing', (r) => r.repliesMissing],
  ['sent twice+', (r) => r.repliesDuplicated],
  ['extra sends', (r) => r.extraSends],
  [
    'unanswered POSTs, retried with their key (answered from the first commit)',
    (r) => `${r.repliesUnknown} (${r.retriesReplayed})`,
  ],
  ['replies stored twice', (r) => r.repliesStoredTwice],
  ['seconds', (r) => r.seconds.toFixed(0)],
];
console.log(`\nCrash harness: ${ROUNDS} kill -9 rounds per store\n`);
console.log(`| ${cols.map((c) => c[0]).join(' | ')} |`);
console.log(`|${cols.map(() => '---').join('|')}|`);
for (const r of results) console.log(`| ${cols.map((c) => c[1](r)).join(' | ')} |`);
const failed = results.some(
  (r) => r.webhooksLost > 0 || r.webhooksDuplicated > 0 || r.repliesMissing > 0 || r.repliesStoredTwice > 0,
);
if (failed) {
  console.log('\nFAILED: an acknowledged webhook or reply was lost or stored twice');
  process.exitCode = 1;
}
