/**
 * Traffic-source attribution for a website visit: GA4's default channel grouping (a faithful
 * subset of Google's published rules, evaluated in Google's order) and the short source label the
 * Message log shows and filters on. Pure; used by the seed and by the widget's visit endpoint.
 */

export type ChannelGroup =
  | 'Direct'
  | 'Cross-network'
  | 'Paid Shopping'
  | 'Paid Search'
  | 'Paid Social'
  | 'Paid Video'
  | 'Display'
  | 'Paid Other'
  | 'Organic Shopping'
  | 'Organic Social'
  | 'Organic Video'
  | 'Organic Search'
  | 'Referral'
  | 'Email'
  | 'Affiliates'
  | 'Audio'
  | 'SMS'
  | 'Mobile Push Notifications'
  | 'Unassigned';

export interface AttributionInput {
  utmSource?: string | null | undefined;
  utmMedium?: string | null | undefined;
  utmCampaign?: string | null | undefined;
  /** `document.referrer` as recorded (a URL; empty when there was none). */
  referrer?: string | null | undefined;
  /** Click ids as a query string: `gclid=...&fbclid=...`. */
  clickIds?: string | null | undefined;
  /** The landing page; a referrer on the same host is the site itself, not a source. */
  landingUrl?: string | null | undefined;
}

// Site lists: a bare word matches any host label (google matches google.pl and www.google.com.pl);
// an entry with a dot matches that host and its subdomains.
const SEARCH = [
  'google',
  'bing',
  'yahoo',
  'duckduckgo',
  'yandex',
  'baidu',
  'ecosia',
  'ask',
  'naver',
  'seznam',
  'qwant',
  'startpage',
  'search.brave.com',
  'szukaj.onet.pl',
  'szukaj.wp.pl',
  'sogou',
  'so.com',
  'aol',
];
const SOCIAL = [
  'facebook',
  'fb',
  'instagram',
  'ig',
  'linkedin',
  'lnkd.in',
  'twitter',
  't.co',
  'x.com',
  'pinterest',
  'reddit',
  'tiktok',
  'snapchat',
  'vk',
  'whatsapp',
  'telegram',
  't.me',
  'messenger',
  'wykop',
  'threads.net',
  'tumblr',
  'quora',
  'discord',
];
const VIDEO = ['youtube', 'youtu.be', 'vimeo', 'twitch', 'dailymotion', 'wistia', 'cda'];
const SHOPPING = [
  'allegro',
  'ceneo',
  'amazon',
  'ebay',
  'aliexpress',
  'etsy',
  'shopping',
  'shop.app',
  'skapiec',
  'temu',
];

const PAID_MEDIUM = /^(.*cp.*|ppc|retargeting|paid.*)$/;
const SHOPPING_CAMPAIGN = /^(.*(([^a-df-z]|^)shop|shopping).*)$/;
const DISPLAY_MEDIA = new Set(['display', 'banner', 'expandable', 'interstitial', 'cpm']);
const SOCIAL_MEDIA = new Set(['social', 'social-network', 'social-media', 'sm', 'social network', 'social media']);
const EMAIL_WORDS = new Set(['email', 'e-mail', 'e_mail', 'e mail']);

function matchesSite(source: string, list: readonly string[]): boolean {
  const labels = source.split('.');
  for (const entry of list) {
    if (entry.includes('.')) {
      if (source === entry || source.endsWith(`.${entry}`)) return true;
    } else if (labels.includes(entry)) {
      return true;
    }
  }
  return false;
}

/** The host of a URL, lower-cased, without `www.`; null when there is no usable host. */
export function hostOf(url: string | null | undefined): string | null {
  const raw = url?.trim();
  if (!raw) return null;
  let host: string;
  try {
    host = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`).hostname;
  } catch {
    return null;
  }
  host = host.toLowerCase().replace(/\.$/, '');
  if (host.startsWith('www.')) host = host.slice(4);
  return host || null;
}

function clickIdNames(clickIds: string | null | undefined): Set<string> {
  const names = new Set<string>();
  if (!clickIds) return names;
  for (const part of clickIds.split(/[&;,\s]+/)) {
    const [name, value] = part.split('=');
    if (name && value) names.add(name.trim().toLowerCase());
  }
  return names;
}

function nonEmpty(s: string | null | undefined): string | null {
  const t = s?.trim();
  return t ? t : null;
}

/**
 * Source and medium as GA4 derives them for a session: the UTM tags when present; otherwise an
 * auto-tagged click id (gclid → google / cpc); otherwise the referrer (a search engine is organic,
 * any other site a referral); otherwise (direct) / (none).
 */
export function sourceMedium(input: AttributionInput): { source: string; medium: string } {
  const utmSource = nonEmpty(input.utmSource);
  const utmMedium = nonEmpty(input.utmMedium);
  if (utmSource || utmMedium) {
    return { source: utmSource?.toLowerCase() ?? '(not set)', medium: utmMedium?.toLowerCase() ?? '(not set)' };
  }
  const clicks = clickIdNames(input.clickIds);
  if (clicks.has('gclid') || clicks.has('gbraid') || clicks.has('wbraid')) return { source: 'google', medium: 'cpc' };
  if (clicks.has('dclid')) return { source: 'google', medium: 'display' };
  if (clicks.has('msclkid')) return { source: 'bing', medium: 'cpc' };
  if (clicks.has('yclid')) return { source: 'yandex', medium: 'cpc' };
  const host = hostOf(input.referrer);
  if (host && host !== hostOf(input.landingUrl)) {
    if (matchesSite(host, SEARCH)) {
      const engine = SEARCH.find((e) => !e.includes('.') && host.split('.').includes(e));
      return { source: engine ?? host, medium: 'organic' };
    }
    return { source: host, medium: 'referral' };
  }
  return { source: '(direct)', medium: '(none)' };
}

/** GA4's default channel group of a visit. */
export function classifyChannelGroup(input: AttributionInput): ChannelGroup {
  const { source, medium } = sourceMedium(input);
  const campaign = nonEmpty(input.utmCampaign)?.toLowerCase() ?? '';
  const paid = PAID_MEDIUM.test(medium);
  const search = matchesSite(source, SEARCH);
  const social = matchesSite(source, SOCIAL);
  const video = matchesSite(source, VIDEO);
  const shopping = matchesSite(source, SHOPPING) || SHOPPING_CAMPAIGN.test(campaign);

  if (source === '(direct)' && (medium === '(none)' || medium === '(not set)')) return 'Direct';
  if (campaign.includes('cross-network')) return 'Cross-network';
  if (shopping && paid) return 'Paid Shopping';
  if (search && paid) return 'Paid Search';
  if (social && paid) return 'Paid Social';
  if (video && paid) return 'Paid Video';
  if (DISPLAY_MEDIA.has(medium)) return 'Display';
  if (paid) return 'Paid Other';
  if (shopping) return 'Organic Shopping';
  if (social || SOCIAL_MEDIA.has(medium)) return 'Organic Social';
  if (video || medium.includes('video')) return 'Organic Video';
  if (search || medium === 'organic') return 'Organic Search';
  if (medium === 'referral' || medium === 'app' || medium === 'link') return 'Referral';
  if (EMAIL_WORDS.has(source) || EMAIL_WORDS.has(medium)) return 'Email';
  if (medium === 'affiliate') return 'Affiliates';
  if (medium === 'audio') return 'Audio';
  if (source === 'sms' || medium === 'sms') return 'SMS';
  if (
    medium.endsWith('push') ||
    medium.includes('mobile') ||
    medium.includes('notification') ||
    source === 'firebase'
  ) {
    return 'Mobile Push Notifications';
  }
  return 'Unassigned';
}

/**
 * The short source shown in the log's source column and matched by its `source` filter: the
 * lower-cased utm_source, else the referrer's host without `www.`, else `direct`.
 */
export function sourceLabel(input: Pick<AttributionInput, 'utmSource' | 'referrer'>): string {
  const utm = nonEmpty(input.utmSource);
  if (utm) return utm.toLowerCase();
  return hostOf(input.referrer) ?? 'direct';
}
