// The demo page (SPEC §4.11, issue 3 §7): a person types as a Telegram, Viber, Messenger or SMS
// client and sees what the bot / page / SMSC sent back — the manager's answers from the app.
// Served by the control API (control.ts) under /_sim:
//
//   GET  /_sim/demo               the page (static HTML, no inline script)
//   GET  /_sim/demo.js            its script (no dependencies, no external assets)
//   PUT  /_sim/demo/setup         which bot / account / page / SMSC account the page writes as
//                                 (`dziennik demo` sends it once its channels exist)
//   GET  /_sim/demo/setup         the same without credentials, for the page
//   POST /_sim/demo/messages      {platform, name, phone?, to?, text}: the client writes
//   GET  /_sim/demo/conversation  ?platform&name[&phone]: what the client sent and what came back
//
// A client is known by the name typed (and, for SMS, the phone number): the same name is the same
// Telegram user id, Viber id or PSID on every call, so the conversation survives a page reload.
// What the client sent is kept here with millisecond times (Telegram dates are whole seconds);
// what came back is read from the platforms' own records (sent(), smsc.messages()).
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Simulator } from './server.js';

export type DemoPlatform = 'telegram' | 'viber' | 'messenger' | 'sms';
const PLATFORMS: readonly DemoPlatform[] = ['telegram', 'viber', 'messenger', 'sms'];

export interface DemoSetup {
  /** where managers work (the app) */
  appUrl: string;
  projectName?: string;
  /** the demo account; the password is never sent here (it is printed once, on the console) */
  login?: { email: string };
  telegram?: { token: string; username: string; name: string };
  viber?: { authToken: string; name: string; uri: string };
  messenger?: { pageId: string; name: string };
  sms?: { systemId: string; numbers: { e164: string; outboundOnly: boolean }[] };
}

type DeliveryState = 'delivered' | 'queued' | 'failed' | 'pending';

interface InboundEntry {
  platform: DemoPlatform;
  clientId: string;
  text: string;
  at: number;
  state: DeliveryState;
  detail?: string;
  /** SMS: the number written to */
  to?: string;
}

export interface DemoMessage {
  direction: 'in' | 'out';
  text: string;
  at: number;
  /** in: whether the platform got it to the app's webhook (SMS: the app's deliver_sm_resp) */
  state?: DeliveryState;
  detail?: string;
  /** SMS: the number written to (in) or the sender shown to the client (out; "SMS" when outbound-only) */
  number?: string;
}

const MAX_INBOUND = 10_000;

export function registerDemoRoutes(
  r: FastifyInstance,
  sim: () => Simulator,
  send: (reply: FastifyReply, value: unknown, status?: number) => FastifyReply,
): void {
  let setup: DemoSetup | null = null;
  const inbound: InboundEntry[] = [];

  const record = (e: InboundEntry) => {
    inbound.push(e);
    if (inbound.length > MAX_INBOUND) inbound.splice(0, inbound.length - MAX_INBOUND);
    return e;
  };

  r.get('/demo', (_req, reply) =>
    reply.header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(DEMO_HTML),
  );
  r.get('/demo.js', (_req, reply) =>
    reply.header('content-type', 'text/javascript; charset=utf-8').header('cache-control', 'no-store').send(DEMO_JS),
  );

  r.put('/demo/setup', (req, reply) => {
    const b = req.body as DemoSetup | undefined;
    if (!b || typeof b.appUrl !== 'string') return send(reply, { error: 'appUrl is required' }, 400);
    setup = b;
    return send(reply, publicSetup(b));
  });

  r.get('/demo/setup', (_req, reply) => {
    if (!setup) return send(reply, { error: 'the demo is not set up: start it with `dziennik demo`' }, 409);
    return send(reply, publicSetup(setup));
  });

  r.post('/demo/messages', async (req, reply) => {
    // JSON only: a cross-site form post (text/plain, no preflight) cannot write as a client.
    if (!isJson(req)) return send(reply, { error: 'send application/json' }, 415);
    if (!setup) return send(reply, { error: 'the demo is not set up: start it with `dziennik demo`' }, 409);
    const b = (req.body ?? {}) as Record<string, unknown>;
    const text = typeof b.text === 'string' ? b.text.trim() : '';
    if (!text) return send(reply, { error: 'text is required' }, 400);
    if (text.length > 4000) return send(reply, { error: 'text is too long (at most 4000 characters)' }, 400);
    const client = clientOf(setup, b);
    if ('error' in client) return send(reply, { error: client.error }, 400);
    const s = sim();
    const at = Date.now();
    const { first, last } = splitName(client.name);
    const delivered = (d: { queued: boolean; ok: boolean; status: number; body: string }) =>
      record({
        platform: client.platform,
        clientId: client.id,
        text,
        at,
        state: d.queued ? 'queued' : d.ok ? 'delivered' : 'failed',
        ...(d.ok || d.queued ? {} : { detail: `HTTP ${d.status} ${d.body.slice(0, 200)}`.trim() }),
      });
    let entry: InboundEntry;
    switch (client.platform) {
      case 'telegram':
        entry = delivered(
          await s.telegram.sendFromUser(setup.telegram!.token, {
            userId: Number(client.id),
            firstName: first,
            lastName: last,
            languageCode: 'pl',
            text,
          }),
        );
        break;
      case 'viber':
        entry = delivered(
          await s.viber.sendFromUser(setup.viber!.authToken, { userId: client.id, name: client.name, text }),
        );
        break;
      case 'messenger':
        entry = delivered(
          await s.messenger.sendFromUser(setup.messenger!.pageId, {
            psid: client.id,
            firstName: first,
            lastName: last ?? '',
            text,
          }),
        );
        break;
      case 'sms': {
        // The SMSC holds a message until the app has bound over SMPP: answer at once, and let
        // the conversation show "waiting" until the deliver_sm_resp comes.
        const to = client.to!;
        const pending = s.smsc.sendMo(setup.sms!.systemId, { from: client.id, to: digits(to), text });
        const e = record({ platform: 'sms', clientId: client.id, text, at, state: 'pending', to });
        pending.then(
          (statuses) => {
            e.state = statuses.every((st) => st === 0) ? 'delivered' : 'failed';
            if (e.state === 'failed') e.detail = `deliver_sm_resp ${statuses.join(', ')}`;
          },
          (err: unknown) => {
            e.state = 'failed';
            e.detail = (err as Error).message;
          },
        );
        entry = e;
        break;
      }
    }
    return send(reply, { client: clientView(client), message: inboundView(entry) }, 201);
  });

  r.get('/demo/conversation', (req, reply) => {
    if (!setup) return send(reply, { error: 'the demo is not set up: start it with `dziennik demo`' }, 409);
    const client = clientOf(setup, req.query as Record<string, unknown>);
    if ('error' in client) return send(reply, { error: client.error }, 400);
    const s = sim();
    const messages: DemoMessage[] = inbound
      .filter((e) => e.platform === client.platform && e.clientId === client.id)
      .map(inboundView);
    switch (client.platform) {
      case 'telegram':
        for (const m of s.telegram.sent(setup.telegram!.token)) {
          if (String(m.chatId) === client.id) messages.push({ direction: 'out', text: m.text, at: m.at });
        }
        break;
      case 'viber':
        for (const m of s.viber.sent(setup.viber!.authToken)) {
          if (m.receiver === client.id) messages.push({ direction: 'out', text: m.text ?? `[${m.type}]`, at: m.at });
        }
        break;
      case 'messenger':
        for (const m of s.messenger.sent(setup.messenger!.pageId)) {
          if (m.recipientId === client.id)
            messages.push({ direction: 'out', text: m.text ?? '[attachment]', at: m.at });
        }
        break;
      case 'sms':
        for (const m of s.smsc.messages(setup.sms!.systemId)) {
          if (digits(m.to.addr) !== client.id || !m.complete) continue;
          messages.push({
            direction: 'out',
            text: m.text,
            at: m.parts[0]?.at ?? 0,
            number: /^\d+$/.test(m.from.addr) ? `+${m.from.addr}` : m.from.addr,
          });
        }
        break;
    }
    // Stable: on the same millisecond the client's message stays first.
    messages.sort((a, b) => a.at - b.at);
    return send(reply, { client: clientView(client), messages });
  });
}

function isJson(req: FastifyRequest): boolean {
  return /^application\/json\b/i.test(String(req.headers['content-type'] ?? ''));
}

function publicSetup(s: DemoSetup) {
  return {
    appUrl: s.appUrl,
    projectName: s.projectName ?? null,
    login: s.login ?? null,
    platforms: {
      telegram: s.telegram ? { name: s.telegram.name, handle: `@${s.telegram.username}` } : null,
      viber: s.viber ? { name: s.viber.name, handle: s.viber.uri } : null,
      messenger: s.messenger ? { name: s.messenger.name, handle: s.messenger.pageId } : null,
      sms: s.sms ? { numbers: s.sms.numbers } : null,
    },
  };
}

interface DemoClient {
  platform: DemoPlatform;
  name: string;
  /** Telegram user id, Viber id, PSID, or the SMS sender's digits */
  id: string;
  /** SMS: the number written to */
  to?: string;
}

function clientOf(setup: DemoSetup, b: Record<string, unknown>): DemoClient | { error: string } {
  const platform = b.platform as DemoPlatform;
  if (!PLATFORMS.includes(platform)) return { error: `platform must be one of ${PLATFORMS.join(', ')}` };
  if (!setup[platform]) return { error: `${platform} is not part of this demo` };
  const name = typeof b.name === 'string' ? b.name.trim().replace(/\s+/g, ' ') : '';
  if (!name) return { error: 'name is required' };
  if (name.length > 64) return { error: 'name is too long (at most 64 characters)' };
  const key = name.toLowerCase();
  switch (platform) {
    case 'telegram':
      // Telegram user ids are positive integers below 2^52.
      return { platform, name, id: String(1_000_000_000 + (hash(`telegram:${key}`).readUInt32BE(0) % 900_000_000)) };
    case 'viber':
      // Viber ids are base64 of 16 bytes, like "01234567890A==".
      return { platform, name, id: hash(`viber:${key}`).subarray(0, 16).toString('base64') };
    case 'messenger': {
      // Page-scoped ids are 16 decimal digits.
      const n = hash(`messenger:${key}`).readBigUInt64BE(0) % 10n ** 15n;
      return { platform, name, id: `2${n.toString().padStart(15, '0')}` };
    }
    case 'sms': {
      const phone = typeof b.phone === 'string' ? b.phone : '';
      const from = digits(phone.replace(/^\s*00/, '+'));
      if (!/^\d{8,15}$/.test(from)) return { error: 'phone must be an international number such as +48 601 234 567' };
      const numbers = setup.sms!.numbers;
      const wanted = typeof b.to === 'string' && b.to ? digits(b.to) : undefined;
      const to = wanted
        ? numbers.find((n) => digits(n.e164) === wanted)
        : (numbers.find((n) => !n.outboundOnly) ?? numbers[0]);
      if (!to) return { error: wanted ? `${b.to} is not a number of this demo` : 'the demo has no SMS number' };
      return { platform, name, id: from, to: to.e164 };
    }
  }
}

function clientView(c: DemoClient) {
  return {
    platform: c.platform,
    name: c.name,
    id: c.id,
    ...(c.platform === 'sms' ? { phone: `+${c.id}`, to: c.to } : {}),
  };
}

function inboundView(e: InboundEntry): DemoMessage {
  return {
    direction: 'in',
    text: e.text,
    at: e.at,
    state: e.state,
    ...(e.detail ? { detail: e.detail } : {}),
    ...(e.to ? { number: e.to } : {}),
  };
}

function hash(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function digits(s: string): string {
  return s.replace(/\D/g, '');
}

function splitName(name: string): { first: string; last: string | undefined } {
  const [first, ...rest] = name.split(' ');
  return { first: first ?? name, last: rest.length ? rest.join(' ') : undefined };
}

// ---------------------------------------------------------------------------------------------
// The page. Every text the client or the app wrote is put in with textContent, never as HTML.

const DEMO_HTML = `<!doctype html>
<html lang="pl">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Dziennik — demo</title>
<link rel="icon" href="data:,">
<style>
  :root { --tg: #229ed9; --vb: #7360f2; --ms: #0866ff; --sms: #2e7d32; --accent: var(--tg); }
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: #f3f4f6; color: #111827; }
  header { display: flex; align-items: center; gap: 12px; padding: 10px 16px; background: #111827; color: #fff; }
  header h1 { font-size: 17px; margin: 0; flex: 1; }
  header button { background: none; border: 1px solid #4b5563; color: #d1d5db; border-radius: 4px; padding: 2px 8px; cursor: pointer; }
  header button[aria-pressed="true"] { background: #fff; color: #111827; }
  main { display: grid; grid-template-columns: minmax(240px, 320px) 1fr; gap: 16px; max-width: 1040px; margin: 16px auto; padding: 0 16px; }
  @media (max-width: 720px) { main { grid-template-columns: 1fr; } }
  main > div > section + section { margin-top: 16px; }
  section { background: #fff; border-radius: 8px; box-shadow: 0 1px 2px rgba(0,0,0,.08); padding: 14px 16px; }
  h2 { font-size: 15px; margin: 0 0 8px; }
  label { display: block; font-size: 13px; color: #4b5563; margin: 10px 0 4px; }
  input, select, textarea { width: 100%; font: inherit; padding: 7px 9px; border: 1px solid #d1d5db; border-radius: 6px; background: #fff; }
  .platforms { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 6px; }
  .platforms button { min-width: 0; font: inherit; padding: 8px; border: 2px solid #e5e7eb; border-radius: 6px; background: #fff; cursor: pointer; text-align: left; }
  .platforms button[aria-pressed="true"] { border-color: var(--accent); background: #f9fafb; }
  .platforms button:disabled { opacity: .45; cursor: not-allowed; }
  .platforms small { display: block; color: #6b7280; font-size: 12px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .manager p { margin: 6px 0; font-size: 14px; }
  .manager a { color: #1d4ed8; word-break: break-all; }
  .chat { display: flex; flex-direction: column; min-height: 70vh; padding: 0; overflow: hidden; }
  .chat-head { padding: 12px 16px; background: var(--accent); color: #fff; }
  .chat-head small { display: block; opacity: .85; }
  #log { flex: 1; overflow-y: auto; padding: 14px 16px; display: flex; flex-direction: column; gap: 8px; background: #eef2f7; }
  .msg { max-width: 78%; padding: 7px 10px 5px; border-radius: 10px; white-space: pre-wrap; word-wrap: break-word; }
  .msg.in { align-self: flex-end; background: #dcf8c6; }
  .msg.out { align-self: flex-start; background: #fff; }
  .msg .meta { display: block; font-size: 11px; color: #6b7280; text-align: right; margin-top: 2px; }
  .msg.failed { background: #fee2e2; }
  .empty { color: #6b7280; text-align: center; margin: auto; max-width: 360px; }
  form.composer { display: flex; gap: 8px; padding: 10px; border-top: 1px solid #e5e7eb; }
  form.composer textarea { resize: none; height: 42px; }
  form.composer button { font: inherit; padding: 0 16px; border: 0; border-radius: 6px; background: var(--accent); color: #fff; cursor: pointer; }
  .note { font-size: 12px; color: #6b7280; margin: 6px 0 0; }
  .error { color: #b91c1c; font-size: 13px; min-height: 1em; margin: 6px 10px; }
  [hidden] { display: none !important; }
</style>
</head>
<body>
<header>
  <h1 data-i18n="title">Dziennik — demo: napisz jako klient</h1>
  <button type="button" data-lang="pl" aria-pressed="true">PL</button>
  <button type="button" data-lang="en" aria-pressed="false">EN</button>
  <button type="button" data-lang="uk" aria-pressed="false">UK</button>
</header>
<main>
  <div>
    <section>
      <h2 data-i18n="youAre">Jesteś klientem</h2>
      <label data-i18n="platform">Komunikator</label>
      <div class="platforms" id="platforms">
        <button type="button" data-platform="telegram">Telegram<small></small></button>
        <button type="button" data-platform="viber">Viber<small></small></button>
        <button type="button" data-platform="messenger">Messenger<small></small></button>
        <button type="button" data-platform="sms">SMS<small></small></button>
      </div>
      <label for="name" data-i18n="name">Imię i nazwisko</label>
      <input id="name" autocomplete="off" maxlength="64">
      <div id="sms-fields" hidden>
        <label for="phone" data-i18n="phone">Twój numer telefonu</label>
        <input id="phone" autocomplete="off" inputmode="tel" maxlength="24">
        <label for="to" data-i18n="to">Piszesz na numer</label>
        <select id="to"></select>
        <p class="note" id="to-note" data-i18n="outboundOnlyNote" hidden>Ten numer tylko wysyła (nadawca „SMS”): odpowiedź do niego nie dotrze.</p>
      </div>
      <p class="note" data-i18n="sameName">Ta sama nazwa to ten sam klient: rozmowa wraca po odświeżeniu strony.</p>
    </section>
    <section class="manager">
      <h2 data-i18n="managerSide">Strona menedżera</h2>
      <p><span data-i18n="openApp">Odpowiadaj w aplikacji:</span> <a id="app-url" target="_blank" rel="noopener"></a></p>
      <p><span data-i18n="login">Logowanie:</span> <b id="login-email"></b></p>
      <p class="note" data-i18n="passwordHint">Hasło zostało wypisane w terminalu przy pierwszym uruchomieniu „dziennik demo”.</p>
      <p class="note" data-i18n="apiHint">API i jego opis: /api/openapi.json</p>
    </section>
  </div>
  <section class="chat">
    <div class="chat-head"><b id="chat-title"></b><small id="chat-sub"></small></div>
    <div id="log" aria-live="polite"></div>
    <p class="error" id="error" role="alert"></p>
    <form class="composer" id="composer">
      <textarea id="text" data-i18n-placeholder="placeholder" placeholder="Napisz wiadomość…" maxlength="4000"></textarea>
      <button type="submit" data-i18n="send">Wyślij</button>
    </form>
  </section>
</main>
<script src="/_sim/demo.js" defer></script>
</body>
</html>
`;

// Plain ES2017 for any browser; no template literals (this file holds it in one).
const DEMO_JS = `(function () {
  'use strict';
  var T = {
    pl: {
      title: 'Dziennik — demo: napisz jako klient',
      youAre: 'Jesteś klientem',
      platform: 'Komunikator',
      name: 'Imię i nazwisko',
      phone: 'Twój numer telefonu',
      to: 'Piszesz na numer',
      outboundOnlyNote: 'Ten numer tylko wysyła (nadawca „SMS”): odpowiedź do niego nie dotrze.',
      sameName: 'Ta sama nazwa to ten sam klient: rozmowa wraca po odświeżeniu strony.',
      managerSide: 'Strona menedżera',
      openApp: 'Odpowiadaj w aplikacji:',
      login: 'Logowanie:',
      passwordHint: 'Hasło zostało wypisane w terminalu przy pierwszym uruchomieniu „dziennik demo”.',
      apiHint: 'API i jego opis: /api/openapi.json',
      placeholder: 'Napisz wiadomość…',
      send: 'Wyślij',
      empty: 'Napisz pierwszą wiadomość. Dialog pojawi się u menedżerów, a ich odpowiedzi — tutaj.',
      needName: 'Wpisz imię klienta.',
      needPhone: 'Wpisz numer telefonu, np. +48 601 234 567.',
      defaultName: 'Anna Nowak',
      st_delivered: 'dostarczono do aplikacji',
      st_queued: 'czeka na webhook',
      st_pending: 'czeka na połączenie SMPP aplikacji',
      st_failed: 'nie dotarło',
      from: 'od',
      outboundOnly: 'tylko wysyłka',
      notSetUp: 'Demo nie jest gotowe: uruchom „dziennik demo”.'
    },
    en: {
      title: 'Dziennik demo: write as a client',
      youAre: 'You are the client',
      platform: 'Messenger app',
      name: 'Name',
      phone: 'Your phone number',
      to: 'Writing to number',
      outboundOnlyNote: 'This number only sends (sender shows as “SMS”): a reply to it never arrives.',
      sameName: 'The same name is the same client: the conversation comes back after a reload.',
      managerSide: 'Manager side',
      openApp: 'Answer in the app:',
      login: 'Sign in:',
      passwordHint: 'The password was printed in the terminal when “dziennik demo” first ran.',
      apiHint: 'The API and its description: /api/openapi.json',
      placeholder: 'Type a message…',
      send: 'Send',
      empty: 'Write the first message. The dialog appears to the managers, and their answers appear here.',
      needName: 'Type the client’s name.',
      needPhone: 'Type a phone number, e.g. +48 601 234 567.',
      defaultName: 'Anna Nowak',
      st_delivered: 'delivered to the app',
      st_queued: 'waiting for a webhook',
      st_pending: 'waiting for the app’s SMPP connection',
      st_failed: 'not delivered',
      from: 'from',
      outboundOnly: 'outbound only',
      notSetUp: 'The demo is not ready: start “dziennik demo”.'
    },
    uk: {
      title: 'Dziennik — демо: напишіть як клієнт',
      youAre: 'Ви — клієнт',
      platform: 'Месенджер',
      name: 'Ім’я та прізвище',
      phone: 'Ваш номер телефону',
      to: 'Пишете на номер',
      outboundOnlyNote: 'Цей номер лише надсилає (відправник «SMS»): відповідь на нього не дійде.',
      sameName: 'Те саме ім’я — той самий клієнт: розмова повернеться після оновлення сторінки.',
      managerSide: 'Сторона менеджера',
      openApp: 'Відповідайте в застосунку:',
      login: 'Вхід:',
      passwordHint: 'Пароль було виведено в терміналі під час першого запуску «dziennik demo».',
      apiHint: 'API та його опис: /api/openapi.json',
      placeholder: 'Напишіть повідомлення…',
      send: 'Надіслати',
      empty: 'Напишіть перше повідомлення. Діалог з’явиться в менеджерів, а їхні відповіді — тут.',
      needName: 'Введіть ім’я клієнта.',
      needPhone: 'Введіть номер телефону, напр. +48 601 234 567.',
      defaultName: 'Олена Коваль',
      st_delivered: 'доставлено в застосунок',
      st_queued: 'чекає на вебхук',
      st_pending: 'чекає на SMPP-з’єднання застосунку',
      st_failed: 'не доставлено',
      from: 'від',
      outboundOnly: 'лише надсилання',
      notSetUp: 'Демо не готове: запустіть «dziennik demo».'
    }
  };
  var COLORS = { telegram: '#229ed9', viber: '#7360f2', messenger: '#0866ff', sms: '#2e7d32' };
  var NAMES = { telegram: 'Telegram', viber: 'Viber', messenger: 'Messenger', sms: 'SMS' };
  var $ = function (id) { return document.getElementById(id); };
  var store = {
    get: function (k, d) { try { return localStorage.getItem('dzdemo.' + k) || d; } catch (e) { return d; } },
    set: function (k, v) { try { localStorage.setItem('dzdemo.' + k, v); } catch (e) { /* private mode */ } }
  };
  var queryLang = new URLSearchParams(location.search).get('lang');
  var lang = T[queryLang] ? queryLang : store.get('lang', 'pl');
  if (!T[lang]) lang = 'pl';
  var setup = null;
  var platform = store.get('platform', 'telegram');
  var lastRender = '';
  var polling = false;

  function t(key) { return (T[lang] && T[lang][key]) || T.en[key] || key; }

  function applyLang() {
    document.documentElement.lang = lang;
    document.title = t('title');
    document.querySelectorAll('[data-i18n]').forEach(function (el) { el.textContent = t(el.getAttribute('data-i18n')); });
    document.querySelectorAll('[data-i18n-placeholder]').forEach(function (el) {
      el.setAttribute('placeholder', t(el.getAttribute('data-i18n-placeholder')));
    });
    document.querySelectorAll('[data-lang]').forEach(function (b) {
      b.setAttribute('aria-pressed', String(b.getAttribute('data-lang') === lang));
    });
    fillNumbers();
    lastRender = '';
    refresh();
  }

  function fillNumbers() {
    var sel = $('to');
    var keep = sel.value;
    while (sel.firstChild) sel.removeChild(sel.firstChild);
    var numbers = (setup && setup.platforms.sms && setup.platforms.sms.numbers) || [];
    numbers.forEach(function (n) {
      var o = document.createElement('option');
      o.value = n.e164;
      o.textContent = n.e164 + (n.outboundOnly ? ' (' + t('outboundOnly') + ')' : '');
      sel.appendChild(o);
    });
    if (keep) sel.value = keep;
    updateToNote();
  }

  function updateToNote() {
    var numbers = (setup && setup.platforms.sms && setup.platforms.sms.numbers) || [];
    var chosen = numbers.filter(function (n) { return n.e164 === $('to').value; })[0];
    $('to-note').hidden = !(chosen && chosen.outboundOnly);
  }

  function choose(p) {
    platform = p;
    store.set('platform', p);
    document.documentElement.style.setProperty('--accent', COLORS[p]);
    document.querySelectorAll('[data-platform]').forEach(function (b) {
      b.setAttribute('aria-pressed', String(b.getAttribute('data-platform') === p));
    });
    $('sms-fields').hidden = p !== 'sms';
    var info = setup && setup.platforms[p];
    $('chat-title').textContent = NAMES[p] + (info && info.name ? ': ' + info.name : '');
    $('chat-sub').textContent = p === 'sms' ? ($('to').value || '') : (info ? info.handle : '');
    lastRender = '';
    refresh();
  }

  function client() {
    var name = $('name').value.trim() || t('defaultName');
    var c = { platform: platform, name: name };
    if (platform === 'sms') { c.phone = $('phone').value.trim(); c.to = $('to').value; }
    return c;
  }

  function showError(text) { $('error').textContent = text || ''; }

  function render(messages) {
    var key = lang + '|' + JSON.stringify(messages);
    if (key === lastRender) return;
    lastRender = key;
    var log = $('log');
    var atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    while (log.firstChild) log.removeChild(log.firstChild);
    if (messages.length === 0) {
      var p = document.createElement('p');
      p.className = 'empty';
      p.textContent = t('empty');
      log.appendChild(p);
      return;
    }
    messages.forEach(function (m) {
      var div = document.createElement('div');
      div.className = 'msg ' + m.direction + (m.state === 'failed' ? ' failed' : '');
      div.appendChild(document.createTextNode(m.text));
      var meta = document.createElement('span');
      meta.className = 'meta';
      var parts = [new Date(m.at).toLocaleTimeString(lang)];
      if (m.direction === 'out' && m.number) parts.push(t('from') + ' ' + m.number);
      if (m.direction === 'in' && m.number) parts.push('→ ' + m.number);
      if (m.state) parts.push(t('st_' + m.state));
      meta.textContent = parts.join(' · ');
      if (m.detail) meta.title = m.detail;
      div.appendChild(meta);
      log.appendChild(div);
    });
    if (atBottom) log.scrollTop = log.scrollHeight;
  }

  function refresh() {
    if (!setup || polling) return;
    var c = client();
    if (platform === 'sms' && !c.phone) { render([]); return; }
    var q = new URLSearchParams(c);
    polling = true;
    fetch('/_sim/demo/conversation?' + q.toString(), { cache: 'no-store' })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (r) {
        if (r.ok) render(r.body.messages);
        else if (platform !== 'sms' || c.phone) showError(r.body.error);
      })
      .catch(function () { /* the simulator is restarting: try again on the next tick */ })
      .then(function () { polling = false; });
  }

  function send(ev) {
    ev.preventDefault();
    var text = $('text').value.trim();
    if (!text) return;
    var c = client();
    if (platform === 'sms' && !c.phone) { showError(t('needPhone')); return; }
    c.text = text;
    showError('');
    fetch('/_sim/demo/messages', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(c) })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (r) {
        if (!r.ok) { showError(r.body.error); return; }
        $('text').value = '';
        lastRender = '';
        refresh();
      })
      .catch(function (e) { showError(String(e)); });
  }

  function start(s) {
    setup = s;
    $('app-url').textContent = s.appUrl;
    $('app-url').href = s.appUrl;
    $('login-email').textContent = s.login ? s.login.email : '';
    document.querySelectorAll('[data-platform]').forEach(function (b) {
      var p = b.getAttribute('data-platform');
      var info = s.platforms[p];
      b.disabled = !info;
      b.querySelector('small').textContent = info ? (p === 'sms' ? info.numbers.map(function (n) { return n.e164; }).join(', ') : info.handle) : '';
    });
    if (!s.platforms[platform]) platform = ['telegram', 'viber', 'messenger', 'sms'].filter(function (p) { return s.platforms[p]; })[0] || 'telegram';
    $('name').value = store.get('name', t('defaultName'));
    $('phone').value = store.get('phone', '+48 601 234 567');
    applyLang();
    choose(platform);
    setInterval(refresh, 1000);
  }

  document.querySelectorAll('[data-lang]').forEach(function (b) {
    b.addEventListener('click', function () { lang = b.getAttribute('data-lang'); store.set('lang', lang); applyLang(); });
  });
  document.querySelectorAll('[data-platform]').forEach(function (b) {
    b.addEventListener('click', function () { choose(b.getAttribute('data-platform')); });
  });
  ['name', 'phone'].forEach(function (id) {
    $(id).addEventListener('input', function () { store.set(id, $(id).value); lastRender = ''; });
  });
  $('to').addEventListener('change', function () { updateToNote(); choose(platform); });
  $('composer').addEventListener('submit', send);
  $('text').addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); $('composer').requestSubmit(); }
  });
  applyLang();
  fetch('/_sim/demo/setup', { cache: 'no-store' })
    .then(function (r) { return r.ok ? r.json() : Promise.reject(new Error('setup')); })
    .then(start)
    .catch(function () { showError(t('notSetUp')); });
})();
`;
