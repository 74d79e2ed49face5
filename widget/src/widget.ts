/**
 * Dziennik's website widget (issue 5). One IIFE, no dependencies, no eval and no inline script;
 * styles through a constructed stylesheet (CSSOM: not subject to the host page's style-src) in a
 * Shadow DOM. Configured by its script tag:
 *
 *   <script async src="https://desk.example/widget.js" data-key="pk_..."></script>
 *
 * Attribution (first touch, and the last non-direct touch) lives in the host site's localStorage
 * under `dziennik_`. Nothing shows until the server answers the config within 3 s: when it is
 * down or slow, the host page is untouched.
 */

type Dict = Record<string, string>;
type Command = [string, ...unknown[]];
interface Config {
  messengers: { type: string; link: string }[];
  callbackForm: boolean;
  color: string;
  greeting: string | null;
  position: string;
}

const PARAMS = [
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_term',
  'utm_content',
  'gclid',
  'gbraid',
  'wbraid',
  'fbclid',
  'msclkid',
  'yclid',
];
const BODY_NAMES: Dict = {
  utm_source: 'utmSource',
  utm_medium: 'utmMedium',
  utm_campaign: 'utmCampaign',
  utm_term: 'utmTerm',
  utm_content: 'utmContent',
};

// [open, title, greeting, close, or, name, phone, consent, send, sent, failed, badPhone]
const TEXTS: Record<string, string[]> = {
  pl: [
    'Napisz do nas',
    'Jak możemy pomóc?',
    'Napisz w komunikatorze albo zostaw numer, a oddzwonimy.',
    'Zamknij',
    'Zamów telefon',
    'Imię',
    'Telefon',
    'Zgadzam się na telefon w sprawie mojego zapytania.',
    'Poproś o telefon',
    'Dziękujemy! Oddzwonimy wkrótce.',
    'Nie udało się wysłać. Spróbuj ponownie.',
    'Podaj poprawny numer telefonu.',
  ],
  en: [
    'Message us',
    'How can we help?',
    'Write to us in a messenger, or leave your number and we will call you back.',
    'Close',
    'Request a call',
    'Name',
    'Phone',
    'I agree to be called about my enquiry.',
    'Call me back',
    'Thank you! We will call you soon.',
    'Sending failed. Please try again.',
    'Enter a valid phone number.',
  ],
  uk: [
    'Напишіть нам',
    'Чим можемо допомогти?',
    'Напишіть у месенджері або залиште номер, і ми передзвонимо.',
    'Закрити',
    'Замовити дзвінок',
    "Ім'я",
    'Телефон',
    'Я погоджуюся на дзвінок щодо мого запиту.',
    'Передзвоніть мені',
    'Дякуємо! Ми скоро передзвонимо.',
    'Не вдалося надіслати. Спробуйте ще раз.',
    'Введіть правильний номер телефону.',
  ],
};
const NAMES: Dict = { telegram: 'Telegram', viber: 'Viber', messenger: 'Messenger' };

const STYLE = `:host{all:initial}
*{box-sizing:border-box;font:14px/1.4 system-ui,sans-serif}
.b,.p{position:fixed;bottom:20px;right:20px;z-index:2147483000}
.l .b,.l .p{right:auto;left:20px}
.b{border:0;border-radius:28px;padding:14px 20px;background:var(--c);color:#fff;cursor:pointer;font-weight:600;box-shadow:0 4px 14px #0004}
.p{bottom:84px;width:320px;max-width:calc(100vw - 40px);background:#fff;color:#222;border-radius:12px;padding:16px;box-shadow:0 8px 30px #0004}
.p[hidden]{display:none}
h2{margin:0 0 6px;font-size:16px;font-weight:700}
p{margin:0 0 12px}
.m,.s{display:block;width:100%;margin:0 0 8px;padding:10px;border:1px solid var(--c);border-radius:8px;background:#fff;color:#222;cursor:pointer;text-align:left}
.s{background:var(--c);color:#fff;text-align:center}
.x{position:absolute;top:8px;right:8px;border:0;background:none;font-size:20px;cursor:pointer;color:#555}
label{display:block;margin:0 0 8px}
input[type=text],input[type=tel]{display:block;width:100%;padding:8px;border:1px solid #888;border-radius:6px;margin-top:2px}
:focus-visible{outline:3px solid #f59f00;outline-offset:2px}
form{border-top:1px solid #ddd;padding-top:10px}
[role=status]{margin:4px 0 0;min-height:1em}`;

((w: Window & { dziennik?: unknown }, d: Document) => {
  const script = (d.currentScript ?? d.querySelector('script[data-key][src*="widget.js"]')) as HTMLScriptElement | null;
  const key = script?.dataset.key;
  if (!script || !key) return;
  const api = `${new URL(script.src).origin}/api/v1/widget/${encodeURIComponent(key)}`;

  // Attribution: the first touch once; later a last non-direct touch.
  const store = (k: string, v?: Dict): Dict | null => {
    try {
      if (v) localStorage.setItem(`dziennik_${k}`, JSON.stringify(v));
      return JSON.parse(localStorage.getItem(`dziennik_${k}`) ?? 'null') as Dict | null;
    } catch {
      return v ?? null;
    }
  };
  const query = new URLSearchParams(location.search);
  const touch: Dict = { landingUrl: location.href.slice(0, 2000), referrer: d.referrer.slice(0, 2000) };
  for (const p of PARAMS) {
    const v = query.get(p);
    if (v) touch[BODY_NAMES[p] ?? p] = v.slice(0, 200);
  }
  let refHost = '';
  try {
    refHost = d.referrer ? new URL(d.referrer).hostname : '';
  } catch {}
  const first = store('first') ?? store('first', touch);
  if (Object.keys(touch).length > 2 || (refHost && refHost !== location.hostname)) store('last', touch);

  const call = async (path: string, body?: object) => {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), 3000);
    try {
      const res = await fetch(api + path, {
        method: body ? 'POST' : 'GET',
        signal: ctl.signal,
        credentials: 'omit',
        ...(body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
      });
      return { ok: res.ok, status: res.status, data: res.ok ? await res.json() : null };
    } finally {
      clearTimeout(timer);
    }
  };

  const pending: Command[] = Array.isArray(w.dziennik) ? (w.dziennik as Command[]).slice() : [];
  let run: ((c: Command) => void) | undefined;
  w.dziennik = { push: (c: Command) => (run ? run(c) : pending.push(c)) };

  // A visit (first touch, GA client id) for a messenger click or a callback request.
  const visit = async (messenger?: string) => {
    const body: Dict = { ...(store('first') ?? first ?? touch) };
    if (messenger) body.messenger = messenger;
    const ga = /(?:^|; )_ga=GA\d\.\d\.(\d+\.\d+)/.exec(d.cookie);
    if (ga?.[1]) body.gaClientId = ga[1];
    try {
      const r = await call('/visits', body);
      if (r.ok) return r.data as { token: string; links: Dict };
    } catch {}
    return undefined;
  };

  const build = (cfg: Config) => {
    const lang = (d.documentElement.lang || 'pl').slice(0, 2).toLowerCase();
    const t = TEXTS[lang] ?? (TEXTS as { en: string[] }).en;
    const el = <K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Dict = {}, text?: string) => {
      const e = d.createElement(tag);
      for (const a in attrs) e.setAttribute(a, attrs[a]!);
      if (text) e.textContent = text;
      return e;
    };
    const host = el('div', { 'data-dziennik': '' });
    host.style.setProperty('--c', cfg.color);
    const root = host.attachShadow({ mode: 'open' });
    const wrap = el('div', { class: cfg.position === 'bottom-left' ? 'l' : '' });
    try {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(STYLE);
      root.adoptedStyleSheets = [sheet];
    } catch {
      // Older browsers: a <style> element (needs the host's style-src to allow it).
      wrap.append(el('style', {}, STYLE));
    }
    const button = el(
      'button',
      { class: 'b', type: 'button', 'aria-expanded': 'false', 'aria-controls': 'dz-p' },
      t[0],
    );
    const panel = el('div', { class: 'p', id: 'dz-p', role: 'dialog', 'aria-labelledby': 'dz-t', hidden: '' });
    const close = el('button', { class: 'x', type: 'button', 'aria-label': t[3]! }, '×');
    panel.append(close, el('h2', { id: 'dz-t' }, t[1]), el('p', {}, cfg.greeting || t[2]));

    for (const m of cfg.messengers) {
      const b = el('button', { class: 'm', type: 'button', 'data-messenger': m.type }, NAMES[m.type] ?? m.type);
      b.onclick = async () => {
        const link = (await visit(m.type))?.links[m.type] ?? m.link;
        if (link.startsWith('https:')) w.open(link, '_blank', 'noopener');
        else location.href = link;
      };
      panel.append(b);
    }

    if (cfg.callbackForm) {
      const form = el('form', { novalidate: '' });
      const field = (label: string, name: string, type: string) => {
        const l = el('label', {}, label);
        const i = el('input', {
          name,
          type,
          required: '',
          maxlength: '100',
          autocomplete: type === 'tel' ? 'tel' : 'name',
        });
        l.append(i);
        form.append(l);
        return i;
      };
      form.append(el('h2', {}, t[4]));
      const name = field(t[5]!, 'name', 'text');
      const phone = field(t[6]!, 'phone', 'tel');
      const consentLabel = el('label');
      const consent = el('input', { type: 'checkbox', name: 'consent', required: '' });
      consentLabel.append(consent, ` ${t[7]}`);
      const status = el('p', { role: 'status' });
      form.append(consentLabel, el('button', { class: 's', type: 'submit' }, t[8]), status);
      form.onsubmit = async (e) => {
        e.preventDefault();
        if (!name.value.trim() || !consent.checked || !/^\+?[\d\s()-]{7,20}$/.test(phone.value.trim())) {
          status.textContent = t[11]!;
          return;
        }
        let r: { ok: boolean; status: number } = { ok: false, status: 0 };
        try {
          const token = (await visit())?.token;
          r = await call('/callbacks', { name: name.value, phone: phone.value, consent: true, visitToken: token });
        } catch {}
        status.textContent = r.ok ? t[9]! : r.status === 400 ? t[11]! : t[10]!;
        if (r.ok) form.reset();
      };
      panel.append(form);
    }

    const focusables = () => [...panel.querySelectorAll<HTMLElement>('button,input')];
    const setOpen = (open: boolean) => {
      if (open === panel.hidden) {
        panel.hidden = !open;
        button.setAttribute('aria-expanded', String(open));
        (open ? focusables()[0] : button)?.focus();
      }
    };
    button.onclick = () => setOpen(panel.hidden);
    close.onclick = () => setOpen(false);
    panel.onkeydown = (e) => {
      if (e.key === 'Escape') setOpen(false);
      if (e.key !== 'Tab') return;
      // Keep focus in the panel while it is open.
      const f = focusables();
      const at = f.indexOf(root.activeElement as HTMLElement);
      const next = e.shiftKey ? (at <= 0 ? f.length - 1 : at - 1) : at === f.length - 1 ? 0 : at + 1;
      e.preventDefault();
      f[next]?.focus();
    };
    wrap.append(panel, button);
    root.append(wrap);
    d.body.append(host);
    run = (c) => (c[0] === 'open' || c[0] === 'close') && setOpen(c[0] === 'open');
    for (const c of pending.splice(0)) run(c);
  };

  call('/config')
    .then((r) => {
      const cfg = r.data as Config | null;
      if (cfg && (cfg.messengers.length || cfg.callbackForm)) build(cfg);
    })
    .catch(() => {});
})(window, document);
