import { createContext, type ReactNode, useCallback, useContext, useMemo, useState } from 'react';
import { en } from './en';
import { type Dictionary, type MessageKey, pl } from './pl';
import { uk } from './uk';

/**
 * Polish, English and Ukrainian. The language: the user's choice (user menu, kept in
 * localStorage), else the browser's (Polish for a Polish browser), else Polish. `t(key, vars)`
 * replaces `{name}` placeholders. Each page adds its keys to all three dictionaries; a key missing
 * from en/uk is a type error.
 */

export type Locale = 'pl' | 'en' | 'uk';
export const LOCALES: readonly Locale[] = ['pl', 'en', 'uk'];
export const LOCALE_NAMES: Record<Locale, string> = { pl: 'Polski', en: 'English', uk: 'Українська' };
const DICTIONARIES: Record<Locale, Dictionary> = { pl, en, uk };
const STORAGE_KEY = 'dziennik.locale';

export function detectLocale(languages: readonly string[] = navigator.languages ?? [navigator.language]): Locale {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (saved && (LOCALES as readonly string[]).includes(saved)) return saved as Locale;
  } catch {
    // storage blocked: fall through to the browser's languages
  }
  for (const l of languages) {
    const base = l.toLowerCase().split('-')[0];
    if (base === 'pl' || base === 'en' || base === 'uk') return base;
    if (base === 'ru' || base === 'be') return 'uk';
  }
  return 'pl';
}

export type Translate = (key: MessageKey, vars?: Record<string, string | number>) => string;

interface I18n {
  locale: Locale;
  setLocale(l: Locale): void;
  t: Translate;
  /** BCP 47 tag for Intl formatting. */
  intlLocale: string;
}

const Ctx = createContext<I18n | null>(null);

export function I18nProvider({ children }: { children: ReactNode }) {
  const [locale, setLocaleState] = useState<Locale>(() => detectLocale());
  const setLocale = useCallback((l: Locale) => {
    setLocaleState(l);
    try {
      localStorage.setItem(STORAGE_KEY, l);
    } catch {
      // not remembered: fine
    }
    document.documentElement.lang = l;
  }, []);
  const value = useMemo<I18n>(() => {
    const dict = DICTIONARIES[locale];
    const t: Translate = (key, vars) => {
      let s: string = dict[key] ?? pl[key] ?? key;
      if (vars) for (const [k, v] of Object.entries(vars)) s = s.replaceAll(`{${k}}`, String(v));
      return s;
    };
    document.documentElement.lang = locale;
    return { locale, setLocale, t, intlLocale: locale === 'uk' ? 'uk-UA' : locale === 'en' ? 'en-GB' : 'pl-PL' };
  }, [locale, setLocale]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useI18n(): I18n {
  const v = useContext(Ctx);
  if (!v) throw new Error('useI18n outside I18nProvider');
  return v;
}

export type { MessageKey };

/**
 * A module's own messages (each page keeps its strings beside it, in all three languages):
 *
 *   const MESSAGES = defineMessages({ pl: { title: 'Dziennik' }, en: { title: 'Log' }, uk: { title: 'Журнал' } });
 *   const m = useMessages(MESSAGES); m('title');
 *
 * The English and Ukrainian dictionaries must have exactly the Polish keys (a type error otherwise).
 */
export interface Messages<K extends string> {
  pl: Record<K, string>;
  en: Record<K, string>;
  uk: Record<K, string>;
}

export function defineMessages<K extends string>(dicts: {
  pl: Record<K, string>;
  en: Record<NoInfer<K>, string>;
  uk: Record<NoInfer<K>, string>;
}): Messages<K> {
  return dicts;
}

export function useMessages<K extends string>(dicts: Messages<K>) {
  const { locale } = useI18n();
  const dict: Record<K, string> = dicts[locale];
  return useCallback(
    (key: K, vars?: Record<string, string | number>) => {
      let s: string = dict[key] ?? dicts.pl[key] ?? key;
      if (vars) for (const [k, v] of Object.entries(vars)) s = s.replaceAll(`{${k}}`, String(v));
      return s;
    },
    [dict, dicts],
  );
}
