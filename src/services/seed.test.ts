import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { isValidPhoneNumber, parsePhoneNumberWithError } from 'libphonenumber-js/max';
import { seedCommand } from '../cli/seed.js';
import { classifyChannelGroup, sourceLabel } from '../core/attribution.js';
import { createTestStore, storeKinds, type TestStore } from '../testing/harness.js';
import type { Store } from '../store/open.js';
import { copyLine, DEFAULT_SEED_ANCHOR, seedProject } from './seed.js';

/**
 * The seed on real SQL: SQLite always, PostgreSQL (COPY) when TEST_DATABASE_URL is set. Every
 * denormalised dialog field is recomputed here from the stored messages, independently of the
 * generator's own bookkeeping.
 */

const N = 1500;
const PROJECT = 42;
const SEED = 7;

type Row = Record<string, unknown>;

async function all(store: Store, sql: string): Promise<Row[]> {
  if (store.dialect === 'postgres') return (await store.pgPool!.query(sql)).rows as Row[];
  return store.sqlite!.prepare(sql).all() as Row[];
}

/** The log's manager sort key, written out again here: lower case, no diacritics, ł as l. */
function fold(name: string): string {
  const map: Record<string, string> = { ą: 'a', ć: 'c', ę: 'e', ł: 'l', ń: 'n', ó: 'o', ś: 's', ź: 'z', ż: 'z' };
  return name.toLowerCase().replace(/[ąćęłńóśźż]/g, (c) => map[c]!);
}

test('copyLine escapes what COPY text format needs and writes \\N for NULL', () => {
  assert.equal(
    copyLine([1, null, 'a\tb', 'x\\y', 'line1\nline2\r', 'zażółć 🚲; "q"']),
    '1\t\\N\ta\\tb\tx\\\\y\tline1\\nline2\\r\tzażółć 🚲; "q"\n',
  );
});

for (const kind of storeKinds()) {
  describe(`seed [${kind}]`, () => {
    let a: TestStore;
    let b: TestStore;
    let result: Awaited<ReturnType<typeof seedProject>>;
    before(async () => {
      a = await createTestStore(kind);
      b = await createTestStore(kind);
      result = await seedProject(a.store, { projectId: PROJECT, dialogs: N, seed: SEED });
    });
    after(async () => {
      await a?.destroy();
      await b?.destroy();
    });

    test('creates the project with a team, four channels and numbers', async () => {
      const [project] = await all(a.store, `SELECT * FROM projects WHERE id = ${PROJECT}`);
      assert.equal(project?.time_zone, 'Europe/Warsaw');
      assert.equal(project?.language, 'pl');
      assert.match(String(project?.name), /Demo/);
      const members = await all(
        a.store,
        `SELECT u.name, u.email, u.password_hash, m.role FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.project_id = ${PROJECT}`,
      );
      const managers = members.filter((m) => m.role === 'manager');
      assert.ok(managers.length >= 8 && managers.length <= 15, `${managers.length} managers`);
      assert.equal(result.managers, managers.length);
      assert.equal(members.filter((m) => m.role === 'supervisor').length, 1);
      assert.ok(members.every((m) => m.password_hash === null));
      assert.ok(
        members.every((m) => new RegExp(`^[a-z.]+\\+p${PROJECT}@demo\\.dziennik\\.local$`).test(String(m.email))),
      );
      assert.ok(
        members.some((m) => /[ąćęłńóśźżĄĆĘŁŃÓŚŹŻ]/.test(String(m.name))),
        'Polish diacritics in names',
      );
      const channels = await all(a.store, `SELECT type FROM channels WHERE project_id = ${PROJECT} ORDER BY type`);
      assert.deepEqual(
        channels.map((c) => c.type),
        ['messenger', 'sms', 'telegram', 'viber'],
      );
      const numbers = await all(a.store, `SELECT e164 FROM numbers WHERE project_id = ${PROJECT}`);
      assert.ok(numbers.length >= 2);
      assert.equal(numbers.filter((n) => String(n.e164).startsWith('+48799')).length, 1);
      for (const n of numbers) assert.ok(isValidPhoneNumber(String(n.e164)), String(n.e164));
    });

    test('same seed into a fresh store gives identical rows; another seed does not', async () => {
      const again = await seedProject(b.store, { projectId: PROJECT, dialogs: N, seed: SEED });
      assert.equal(again.messages, result.messages);
      for (const table of ['dialogs', 'messages', 'visits', 'clients', 'client_identities', 'dialog_managers']) {
        const order = table === 'dialog_managers' ? 'dialog_id, user_id' : 'id';
        assert.deepEqual(
          await all(b.store, `SELECT * FROM ${table} ORDER BY ${order}`),
          await all(a.store, `SELECT * FROM ${table} ORDER BY ${order}`),
          `${table} differs`,
        );
      }
      const other = await createTestStore(kind);
      try {
        await seedProject(other.store, { projectId: PROJECT, dialogs: 50, seed: SEED + 1 });
        const x = await all(other.store, 'SELECT client_name, created_at FROM dialogs ORDER BY id');
        const y = await all(a.store, 'SELECT client_name, created_at FROM dialogs ORDER BY id LIMIT 50');
        assert.notDeepEqual(x, y);
      } finally {
        await other.destroy();
      }
    });

    test('counts and mix are roughly as requested', async () => {
      const [c] = await all(a.store, `SELECT count(*) AS n FROM dialogs WHERE project_id = ${PROJECT}`);
      assert.equal(Number(c?.n), N);
      assert.equal(result.dialogs, N);
      const [m] = await all(a.store, `SELECT count(*) AS n FROM messages WHERE project_id = ${PROJECT}`);
      assert.equal(Number(m?.n), result.messages);
      const perDialog = result.messages / N;
      assert.ok(perDialog > 8.5 && perDialog < 11.5, `${perDialog} messages per dialog`);
      const statuses = Object.fromEntries(
        (await all(a.store, 'SELECT status, count(*) AS n FROM dialogs GROUP BY status')).map((r) => [
          r.status,
          Number(r.n) / N,
        ]),
      );
      assert.ok(statuses.closed! > 0.78 && statuses.closed! < 0.92, `closed ${statuses.closed}`);
      assert.ok(statuses.open! > 0.05 && statuses.open! < 0.15, `open ${statuses.open}`);
      assert.ok(statuses.new! > 0.02 && statuses.new! < 0.1, `new ${statuses.new}`);
      const channels = await all(
        a.store,
        'SELECT channel_type, outbound_only, count(*) AS n FROM dialogs GROUP BY channel_type, outbound_only',
      );
      for (const t of ['sms', 'telegram', 'viber', 'messenger']) {
        assert.ok(
          channels.some((r) => r.channel_type === t && Number(r.n) > N * 0.08),
          `channel ${t}`,
        );
      }
      assert.ok(
        channels.some((r) => Number(r.outbound_only) === 1 && Number(r.n) > 10),
        'outbound-only dialogs',
      );
      // Some closed without any manager reply: auto-closed, or closed as spam.
      const [noReply] = await all(
        a.store,
        "SELECT count(*) AS n FROM dialogs WHERE status = 'closed' AND first_response_at IS NULL AND outbound_only = 0",
      );
      assert.ok(Number(noReply?.n) > 10);
      // Every dialog inside the six months before the anchor, every message before it.
      const [range] = await all(a.store, 'SELECT min(created_at) AS lo, max(created_at) AS hi FROM dialogs');
      assert.ok(Number(range?.lo) >= DEFAULT_SEED_ANCHOR - 185 * 86400000 && Number(range?.hi) < DEFAULT_SEED_ANCHOR);
      const [late] = await all(
        a.store,
        `SELECT count(*) AS n FROM messages WHERE created_at >= ${DEFAULT_SEED_ANCHOR}`,
      );
      assert.equal(Number(late?.n), 0);
      // Texts the CSV export must survive.
      const [tricky] = await all(
        a.store,
        `SELECT sum(CASE WHEN text LIKE '%' || chr(10) || '%' THEN 1 ELSE 0 END) AS nl, sum(CASE WHEN text LIKE '%;%' THEN 1 ELSE 0 END) AS semi,
                sum(CASE WHEN text LIKE '%"%' THEN 1 ELSE 0 END) AS quote, sum(CASE WHEN text LIKE '%🚲%' OR text LIKE '%🙂%' THEN 1 ELSE 0 END) AS emoji
         FROM messages`.replace('chr(10)', kind === 'postgres' ? 'chr(10)' : 'char(10)'),
      );
      for (const k of ['nl', 'semi', 'quote', 'emoji']) assert.ok(Number(tricky?.[k]) > 0, k);
    });

    test('denormalised dialog fields agree with a recomputation from the messages', async () => {
      const dialogs = await all(a.store, `SELECT * FROM dialogs WHERE project_id = ${PROJECT} ORDER BY id`);
      const messages = await all(
        a.store,
        `SELECT * FROM messages WHERE project_id = ${PROJECT} ORDER BY dialog_id, created_at, id`,
      );
      const byDialog = new Map<number, Row[]>();
      for (const m of messages) {
        const list = byDialog.get(Number(m.dialog_id)) ?? [];
        list.push(m);
        byDialog.set(Number(m.dialog_id), list);
      }
      const clients = new Map((await all(a.store, 'SELECT * FROM clients')).map((c) => [Number(c.id), c]));
      const identities = new Map((await all(a.store, 'SELECT * FROM client_identities')).map((c) => [Number(c.id), c]));
      const visits = new Map((await all(a.store, 'SELECT * FROM visits')).map((v) => [Number(v.id), v]));
      const numbers = new Map((await all(a.store, 'SELECT * FROM numbers')).map((n) => [Number(n.id), n]));
      const channels = new Map((await all(a.store, 'SELECT * FROM channels')).map((c) => [Number(c.id), c]));
      const users = new Map((await all(a.store, 'SELECT * FROM users')).map((u) => [Number(u.id), u]));

      for (const d of dialogs) {
        const id = Number(d.id);
        const ms = byDialog.get(id) ?? [];
        const where = `dialog ${id}`;
        assert.ok(ms.length > 0, where);
        assert.equal(d.messages_in, ms.filter((m) => m.direction === 'in').length, where);
        assert.equal(d.messages_out, ms.filter((m) => m.direction === 'out').length, where);
        const last = ms[ms.length - 1]!;
        assert.equal(d.last_message_at, last.created_at, where);
        assert.equal(d.last_direction, last.direction, where);
        assert.equal(d.last_author_type, last.author_type, where);
        assert.equal(d.last_author_id, last.author_id, where);
        assert.equal(d.last_author_name, last.author_name, where);
        const responders = ms.filter((m) => m.author_type === 'client' || m.author_type === 'manager');
        const responder = responders[responders.length - 1];
        assert.equal(d.last_responder_type, responder?.author_type ?? null, where);
        assert.equal(d.last_responder_id, responder?.author_id ?? null, where);
        assert.equal(d.last_responder_name, responder?.author_name ?? null, where);
        const firstClient = ms.findIndex((m) => m.author_type === 'client');
        assert.equal(d.first_message_at, firstClient >= 0 ? ms[firstClient]!.created_at : null, where);
        const firstResponse =
          firstClient >= 0 ? ms.slice(firstClient + 1).find((m) => m.author_type === 'manager') : undefined;
        assert.equal(d.first_response_at, firstResponse?.created_at ?? null, where);
        assert.equal(
          d.first_response_seconds,
          firstResponse
            ? Math.round((Number(firstResponse.created_at) - Number(ms[firstClient]!.created_at)) / 1000)
            : null,
          where,
        );
        assert.ok(Number(d.created_at) <= Number(ms[0]!.created_at), where);
        for (const m of ms) assert.equal(m.channel_id, d.channel_id, where);

        // Status and closing.
        if (d.status === 'closed') {
          assert.ok(d.closed_at !== null && Number(d.closed_at) >= Number(last.created_at), where);
          assert.equal(d.closed_by_name, d.closed_by === null ? null : users.get(Number(d.closed_by))?.name, where);
          assert.equal(d.unread_count, 0, where);
        } else {
          assert.equal(d.closed_at, null, where);
          assert.equal(d.closed_by, null, where);
          assert.equal(d.status === 'new', d.manager_id === null, where);
        }
        assert.equal(d.manager_name, d.manager_id === null ? null : users.get(Number(d.manager_id))?.name, where);
        assert.equal(d.manager_sort, d.manager_name === null ? '' : fold(String(d.manager_name)), where);
        if (d.manager_id === null) assert.equal(d.manager_sort, '', where);
        const lastManager = ms.map((m) => m.author_type).lastIndexOf('manager');
        if (d.status !== 'closed') {
          assert.equal(
            d.unread_count,
            ms.slice(lastManager + 1).filter((m) => m.author_type === 'client').length,
            where,
          );
        }

        // The client, as the identity and the client rows say.
        const identity = identities.get(Number(d.identity_id))!;
        const client = clients.get(Number(d.client_id))!;
        assert.equal(identity.client_id, d.client_id, where);
        assert.equal(identity.channel_id, d.channel_id, where);
        assert.equal(d.client_name, client.name, where);
        assert.equal(d.client_phone, client.phone, where);
        assert.equal(d.client_handle, identity.handle, where);
        assert.equal(
          d.search_text,
          [d.client_name, d.client_phone, d.client_handle]
            .filter((x) => x)
            .join(' ')
            .toLowerCase(),
          where,
        );
        assert.equal(channels.get(Number(d.channel_id))?.type, d.channel_type, where);

        // Outbound-only: only outbound messages, no name, the 48799 number.
        if (d.outbound_only === 1) {
          assert.equal(d.channel_type, 'sms', where);
          assert.ok(String(numbers.get(Number(d.number_id))?.e164).startsWith('+48799'), where);
          assert.ok(
            ms.every((m) => m.direction === 'out'),
            where,
          );
          assert.equal(d.client_name, '', where);
        } else if (d.channel_type === 'sms') {
          assert.ok(!String(numbers.get(Number(d.number_id))?.e164).startsWith('+48799'), where);
        } else {
          assert.equal(d.number_id, null, where);
        }

        // Attribution copied from the visit and classified the way the widget will.
        if (d.visit_id === null) {
          for (const k of [
            'source',
            'channel_group',
            'utm_source',
            'utm_medium',
            'referrer',
            'landing_url',
            'click_ids',
          ]) {
            assert.equal(d[k], null, `${where} ${k}`);
          }
        } else {
          const v = visits.get(Number(d.visit_id))!;
          for (const k of [
            'utm_source',
            'utm_medium',
            'utm_campaign',
            'utm_term',
            'utm_content',
            'referrer',
            'landing_url',
            'click_ids',
            'channel_group',
          ]) {
            assert.equal(d[k], v[k], `${where} ${k}`);
          }
          const input = {
            utmSource: d.utm_source as string | null,
            utmMedium: d.utm_medium as string | null,
            utmCampaign: d.utm_campaign as string | null,
            referrer: d.referrer as string | null,
            clickIds: d.click_ids as string | null,
            landingUrl: d.landing_url as string | null,
          };
          assert.equal(d.source, sourceLabel(input), where);
          assert.equal(d.channel_group, classifyChannelGroup(input), where);
          assert.ok(
            ['Organic Search', 'Paid Search', 'Organic Social', 'Paid Social', 'Email', 'Referral', 'Direct'].includes(
              String(d.channel_group),
            ),
            where,
          );
          assert.ok(Number(v.created_at) <= Number(d.created_at) && Number(v.expires_at) > Number(d.created_at), where);
          assert.match(String(v.token), /^[A-Za-z0-9_-]{20,}$/);
        }
      }
    });

    test('every SMS phone is a valid Polish mobile number', async () => {
      const phones = await all(
        a.store,
        `SELECT i.external_id AS e FROM client_identities i JOIN channels c ON c.id = i.channel_id WHERE c.type = 'sms'
         UNION ALL SELECT client_phone AS e FROM dialogs WHERE channel_type = 'sms'`,
      );
      assert.ok(phones.length > N * 0.2);
      for (const { e } of phones) {
        assert.match(String(e), /^\+48\d{9}$/);
        assert.ok(isValidPhoneNumber(String(e)), String(e));
        assert.equal(parsePhoneNumberWithError(String(e)).getType(), 'MOBILE', String(e));
      }
    });

    test('outbound-only dialogs have no inbound messages', async () => {
      const [row] = await all(
        a.store,
        "SELECT count(*) AS n FROM messages m JOIN dialogs d ON d.id = m.dialog_id WHERE d.outbound_only = 1 AND (m.direction = 'in' OR m.author_type = 'client')",
      );
      assert.equal(Number(row?.n), 0);
    });

    test('dialog_managers covers every responsible manager, and only real dialogs and managers', async () => {
      const [missing] = await all(
        a.store,
        `SELECT count(*) AS n FROM dialogs d WHERE d.manager_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM dialog_managers dm WHERE dm.project_id = d.project_id AND dm.dialog_id = d.id AND dm.user_id = d.manager_id)`,
      );
      assert.equal(Number(missing?.n), 0);
      const [orphans] = await all(
        a.store,
        `SELECT count(*) AS n FROM dialog_managers dm
           WHERE NOT EXISTS (SELECT 1 FROM dialogs d WHERE d.id = dm.dialog_id)
              OR NOT EXISTS (SELECT 1 FROM memberships m WHERE m.project_id = dm.project_id AND m.user_id = dm.user_id AND m.role = 'manager')`,
      );
      assert.equal(Number(orphans?.n), 0);
      // Transfers: some dialogs had two managers, the current one assigned last.
      const transfers = await all(
        a.store,
        'SELECT dialog_id FROM dialog_managers GROUP BY dialog_id HAVING count(*) > 1',
      );
      assert.ok(transfers.length > 0);
    });

    test('returning clients start a new dialog only after the previous one closed', async () => {
      const rows = await all(
        a.store,
        'SELECT identity_id, created_at, closed_at, status FROM dialogs WHERE outbound_only = 0 ORDER BY identity_id, created_at, id',
      );
      let returning = 0;
      for (let i = 1; i < rows.length; i++) {
        const prev = rows[i - 1]!;
        const cur = rows[i]!;
        if (prev.identity_id !== cur.identity_id) continue;
        returning++;
        assert.equal(prev.status, 'closed');
        assert.ok(Number(prev.closed_at) < Number(cur.created_at));
      }
      assert.ok(returning > N * 0.03, `${returning} returning`);
    });

    test('platform message ids are plausible and unique per channel', async () => {
      const rows = await all(
        a.store,
        `SELECT c.type, m.platform_message_id AS p, m.author_type, m.status FROM messages m JOIN channels c ON c.id = m.channel_id`,
      );
      const pattern: Record<string, RegExp> = {
        telegram: /^\d+:\d+$/,
        viber: /^\d{19}$/,
        messenger: /^m_[A-Za-z0-9_-]{60,}$/,
        sms: /^[0-9a-f]{8,}$/,
      };
      for (const r of rows) {
        if (r.author_type === 'system' || r.status === 'failed') assert.equal(r.p, null);
        else assert.match(String(r.p), pattern[String(r.type)]!);
      }
      const ids = await all(
        a.store,
        `SELECT c.type, i.external_id AS e, i.handle FROM client_identities i JOIN channels c ON c.id = i.channel_id`,
      );
      const idPattern: Record<string, RegExp> = {
        telegram: /^\d{9,11}$/,
        viber: /^[A-Za-z0-9+/]{22}==$/,
        messenger: /^\d{16}$/,
        sms: /^\+48\d{9}$/,
      };
      for (const r of ids) assert.match(String(r.e), idPattern[String(r.type)]!);
      assert.ok(ids.some((r) => r.type === 'telegram' && /^@[a-z0-9_]{5,}$/.test(String(r.handle))));
    });

    test('a second run adds to the project, reusing its team and channels, and ids continue', async () => {
      const before = await all(a.store, 'SELECT max(id) AS m FROM dialogs');
      const more = await seedProject(a.store, { projectId: PROJECT, dialogs: 200, seed: SEED });
      assert.equal(more.dialogs, 200);
      assert.equal(more.managers, result.managers);
      const [c] = await all(a.store, `SELECT count(*) AS n FROM dialogs WHERE project_id = ${PROJECT}`);
      assert.equal(Number(c?.n), N + 200);
      const [ch] = await all(a.store, `SELECT count(*) AS n FROM channels WHERE project_id = ${PROJECT}`);
      assert.equal(Number(ch?.n), 4);
      // The database's own id generation continues after the seeded rows.
      const created = await a.store.db
        .insertInto('clients')
        .values({ project_id: PROJECT, name: 'Nowy Klient', phone: null, created_at: 1, updated_at: 1 })
        .returning('id')
        .executeTakeFirstOrThrow();
      const [maxClient] = await all(a.store, `SELECT max(id) AS m FROM clients WHERE id <> ${created.id}`);
      assert.ok(created.id > Number(maxClient?.m));
      assert.ok(Number(before[0]?.m) < Number((await all(a.store, 'SELECT max(id) AS m FROM dialogs'))[0]?.m));
    });

    test('message search sees every seeded message, and later messages too', { skip: kind !== 'sqlite' }, async () => {
      const db = a.store.sqlite!;
      // FTS5's own check of the index against the messages table (throws on any difference).
      db.exec("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)");
      const fts = db.prepare(`SELECT count(*) AS n FROM messages_fts WHERE messages_fts MATCH '"szprycha"'`).get() as {
        n: number;
      };
      const like = db.prepare(`SELECT count(*) AS n FROM messages WHERE text LIKE '%szprycha%'`).get() as { n: number };
      assert.ok(like.n > 0);
      assert.equal(fts.n, like.n);
      // The insert trigger is back in place after the seed.
      const [d] = await all(a.store, 'SELECT id, channel_id FROM dialogs LIMIT 1');
      await a.store.db
        .insertInto('messages')
        .values({
          project_id: PROJECT,
          dialog_id: Number(d?.id),
          channel_id: Number(d?.channel_id),
          direction: 'in',
          author_type: 'client',
          author_id: null,
          author_name: null,
          text: 'niepowtarzalny tekst xyzzy',
          attachments: null,
          created_at: 1,
          status: 'received',
          failure_reason: null,
          platform_message_id: null,
          updated_at: 1,
        })
        .execute();
      const found = db.prepare(`SELECT count(*) AS n FROM messages_fts WHERE messages_fts MATCH '"xyzzy"'`).get() as {
        n: number;
      };
      assert.equal(found.n, 1);
    });

    test('a load that fails midway rejects, and rolls its batch back', async () => {
      const broken = await createTestStore(kind);
      try {
        if (kind === 'postgres') {
          await broken.store.pgPool!.query('ALTER TABLE messages ADD CONSTRAINT seed_test_boom CHECK (id <= 50)');
        } else {
          broken.store.sqlite!.exec(
            "CREATE TRIGGER seed_test_boom BEFORE INSERT ON messages WHEN new.id > 50 BEGIN SELECT RAISE(ABORT, 'seed_test_boom'); END",
          );
        }
        await assert.rejects(seedProject(broken.store, { projectId: 9, dialogs: 100, seed: 1 }), /seed_test_boom/);
        for (const table of ['dialogs', 'messages', 'clients', 'visits']) {
          const [row] = await all(broken.store, `SELECT count(*) AS n FROM ${table}`);
          assert.equal(Number(row?.n), 0, table);
        }
      } finally {
        await broken.destroy();
      }
    });

    test('the command prints a one-line summary', async () => {
      let out = '';
      const sink = new Writable({
        write(chunk, _enc, cb) {
          out += String(chunk);
          cb();
        },
      });
      const origWrite = process.stderr.write.bind(process.stderr);
      process.stderr.write = (() => true) as typeof process.stderr.write; // progress lines
      try {
        await seedCommand({ projectId: PROJECT + 1, dialogs: 30, seed: 3 }, a.store, sink);
      } finally {
        process.stderr.write = origWrite;
      }
      assert.match(out, /^seeded project 43: 30 dialogs, [\d,]+ messages, \d+ managers in [\d.]+ s .*\n$/);
      assert.equal(out.split('\n').length, 2);
    });
  });
}

if (storeKinds().includes('postgres')) {
  test('SQLite and PostgreSQL get the same rows for the same seed', async () => {
    const s = await createTestStore('sqlite');
    const p = await createTestStore('postgres');
    try {
      await seedProject(s.store, { projectId: 5, dialogs: 300, seed: 11 });
      await seedProject(p.store, { projectId: 5, dialogs: 300, seed: 11 });
      for (const table of ['dialogs', 'messages', 'visits', 'client_identities']) {
        assert.deepEqual(
          await all(p.store, `SELECT * FROM ${table} ORDER BY id`),
          await all(s.store, `SELECT * FROM ${table} ORDER BY id`),
          table,
        );
      }
    } finally {
      await s.destroy();
      await p.destroy();
    }
  });
}
