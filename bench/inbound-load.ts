/**
 * The load generator of `bench/inbound.ts`, forked into a process of its own so that the server
 * keeps its event loop (and its share of the 2 cores) to itself. It floods one path with Telegram
 * `message` Updates over a fixed number of keep-alive connections (a closed loop: each connection
 * sends its next request when the last one is answered) and reports per-request latencies.
 *
 * Protocol over the IPC channel (parent → child, child → parent):
 *   { type: 'ping', id }                  → { type: 'pong', id, wall }     clock calibration
 *   { type: 'run', id, path, seconds, … } → { type: 'done', id, … }        one timed flood
 *
 * The connections come from BENCH_SOURCE_ADDRESSES loopback addresses (127.0.0.1, 127.0.0.2, …;
 * default 4), as Telegram delivers from several addresses of its ranges: the server's webhook rate
 * limit (3,000/s per address and channel) must not cap the benchmark.
 *
 * Times sent back are wall-clock milliseconds (`performance.timeOrigin + performance.now()`): the
 * server records its realtime events on the same clock, and the parent measures the offset between
 * the two processes' clocks with pings.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';

export interface RunRequest {
  type: 'run';
  id: number;
  port: number;
  path: string;
  /** Telegram's secret-token header value; the bare route ignores it. */
  secret: string;
  concurrency: number;
  seconds: number;
  /** Which traffic stream the payloads come from (the bare route's must not use up the webhook's users). */
  stream: string;
  /** Share of messages from a client never seen before (each opens a dialog). */
  newUserShare: number;
  /** Return the send time of every message (for the request → realtime event latency). */
  recordSends: boolean;
}

export interface RunResult {
  type: 'done';
  id: number;
  /** Wall-clock milliseconds from the first request to the last answer. */
  elapsedMs: number;
  latencies: number[];
  statuses: Record<string, number>;
  errors: number;
  firstError?: string;
  /** Pairs [Telegram message_id, wall-clock send time], when recordSends. */
  sends: number[];
  /** Distinct clients of this stream so far, and messages sent on it so far. */
  users: number;
  messages: number;
  cpuMs: number;
}

/** Loopback source addresses the connections are spread over (BENCH_SOURCE_ADDRESSES, default 4). */
const SOURCE_ADDRESSES = Math.max(1, Number(process.env.BENCH_SOURCE_ADDRESSES ?? 4));
const wall = () => performance.timeOrigin + performance.now();

const FIRST = [
  'Zofia',
  'Jan',
  'Małgorzata',
  'Piotr',
  'Agnieszka',
  'Krzysztof',
  'Katarzyna',
  'Tomasz',
  'Ewa',
  'Paweł',
  'Joanna',
  'Michał',
  'Dorota',
  'Łukasz',
  'Magdalena',
  'Grzegorz',
  'Anna',
  'Wojciech',
  'Beata',
  'Jędrzej',
];
const LAST = [
  'Wójcik',
  'Kowalczyk',
  'Nowak',
  'Wiśniewski',
  'Lewandowska',
  'Zieliński',
  'Szymańska',
  'Woźniak',
  'Dąbrowski',
  'Kozłowska',
  'Jankowski',
  'Mazur',
  'Kwiatkowska',
  'Krawczyk',
  'Piotrowski',
  'Grabowska',
  'Pawłowski',
  'Michalska',
  'Król',
  'Wieczorek',
];
const TEXTS = [
  'Dzień dobry, czy zamówienie nr {n} zostało już wysłane?',
  'Witam, chciałabym zmienić adres dostawy zamówienia {n}.',
  'Czy mogę jeszcze dopłacić za ekspresową wysyłkę?',
  'Paczka nie dotarła, numer przesyłki {n}. Co mam zrobić?',
  'Dziękuję za szybką odpowiedź!',
  'Ile kosztuje dostawa do paczkomatu?',
  'Czy ten model jest dostępny w rozmiarze 42?',
  'Proszę o fakturę VAT na firmę, NIP 5261040828.',
  'Zwrot towaru — jak wypełnić formularz?',
  'Dobry wieczór, czy sklep stacjonarny w Łodzi jest otwarty w niedzielę?',
  'Reklamacja: buty rozkleiły się po tygodniu, zamówienie {n}.',
  'OK, w takim razie poczekam do jutra.',
  'Czy przyjmujecie płatność BLIK przy odbiorze?',
  'Nie mogę się zalogować na konto, resetowałem hasło dwa razy.',
  'Super, wszystko się zgadza 👍',
  'Czy rabat 15% łączy się z darmową dostawą?',
];

const ASCII: Record<string, string> = { ą: 'a', ć: 'c', ę: 'e', ł: 'l', ń: 'n', ó: 'o', ś: 's', ź: 'z', ż: 'z' };
const ascii = (s: string) => s.toLowerCase().replace(/[ąćęłńóśźż]/g, (c) => ASCII[c] ?? c);

/** mulberry32: a small seeded PRNG, so two runs send the same traffic. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A stream of Telegram Updates (https://core.telegram.org/bots/api#update) from private chats. */
class Traffic {
  private readonly random: () => number;
  private nextUpdateId: number;
  private nextMessageId = 1;
  users = 0;
  messages = 0;

  constructor(seed: number) {
    this.random = prng(seed);
    this.nextUpdateId = 600_000_000 + seed;
  }

  /** The first clients all arrive at once (a few hundred), then a steady share of newcomers. */
  next(newUserShare: number): { body: Buffer; messageId: number } {
    let user: number;
    if (this.users < 300 || this.random() < newUserShare) user = this.users++;
    else user = Math.floor(this.random() * this.users);
    const first = FIRST[user % FIRST.length]!;
    const last = LAST[(user * 7 + Math.floor(user / FIRST.length)) % LAST.length]!;
    const id = 700_000_000 + user;
    const username = `${ascii(first)}_${ascii(last)}_${user}`;
    const messageId = this.nextMessageId++;
    const text = TEXTS[Math.floor(this.random() * TEXTS.length)]!.replace(
      '{n}',
      String(100_000 + Math.floor(this.random() * 900_000)),
    );
    this.messages++;
    const update = {
      update_id: this.nextUpdateId++,
      message: {
        message_id: messageId,
        from: { id, is_bot: false, first_name: first, last_name: last, username, language_code: 'pl' },
        chat: { id, first_name: first, last_name: last, username, type: 'private' },
        date: Math.floor(Date.now() / 1000),
        text,
      },
    };
    return { body: Buffer.from(JSON.stringify(update)), messageId };
  }
}

const streams = new Map<string, Traffic>();
let seedCounter = 1;

async function run(req: RunRequest): Promise<RunResult> {
  const traffic = streams.get(req.stream) ?? new Traffic(seedCounter++);
  streams.set(req.stream, traffic);
  // Telegram delivers a bot's webhooks from several addresses of its ranges, and the server's
  // webhook rate limit is per address and channel (src/http/limits.ts): the connections are spread
  // over SOURCE_ADDRESSES loopback addresses so that one address does not carry the whole flood.
  const agents = Array.from({ length: SOURCE_ADDRESSES }, (_, i) => {
    const sockets = Math.ceil(req.concurrency / SOURCE_ADDRESSES);
    return new http.Agent({
      keepAlive: true,
      maxSockets: sockets,
      maxFreeSockets: sockets,
      localAddress: `127.0.0.${i + 1}`,
    });
  });
  const post = (body: Buffer, agent: http.Agent) =>
    new Promise<number>((resolve, reject) => {
      const r = http.request(
        {
          agent,
          host: '127.0.0.1',
          port: req.port,
          method: 'POST',
          path: req.path,
          headers: {
            'content-type': 'application/json',
            'content-length': body.length,
            'x-telegram-bot-api-secret-token': req.secret,
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        },
      );
      r.on('error', reject);
      r.end(body);
    });

  const latencies: number[] = [];
  const sends: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  let firstError: string | undefined;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const deadline = start + req.seconds * 1000;
  let lastAnswer = start;
  const worker = async (_: unknown, n: number) => {
    const agent = agents[n % agents.length]!;
    while (performance.now() < deadline) {
      const { body, messageId } = traffic.next(req.newUserShare);
      const t0 = performance.now();
      try {
        const status = await post(body, agent);
        const t1 = performance.now();
        latencies.push(t1 - t0);
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (req.recordSends) sends.push(messageId, performance.timeOrigin + t0);
        lastAnswer = Math.max(lastAnswer, t1);
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: req.concurrency }, worker));
  const cpu = process.cpuUsage(cpu0);
  for (const a of agents) a.destroy();
  return {
    type: 'done',
    id: req.id,
    elapsedMs: lastAnswer - start,
    latencies,
    statuses,
    errors,
    ...(firstError ? { firstError } : {}),
    sends,
    users: traffic.users,
    messages: traffic.messages,
    cpuMs: (cpu.user + cpu.system) / 1000,
  };
}

process.on('message', (msg: { type: string; id: number }) => {
  if (msg.type === 'ping') process.send!({ type: 'pong', id: msg.id, wall: wall() });
  else if (msg.type === 'run') {
    run(msg as RunRequest).then(
      (r) => process.send!(r),
      (err: Error) => process.send!({ type: 'failed', id: msg.id, message: err.stack ?? err.message }),
    );
  } else if (msg.type === 'exit') process.exit(0);
});
// The benchmark ended or died: do not outlive it.
process.on('disconnect', () => process.exit(0));
process.send!({ type: 'ready' });
