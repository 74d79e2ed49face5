import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AttributionInput, type ChannelGroup, classifyChannelGroup, hostOf, sourceLabel } from './attribution.js';

const cases: [string, AttributionInput, ChannelGroup][] = [
  ['nothing at all', {}, 'Direct'],
  ['empty strings count as nothing', { utmSource: '', utmMedium: ' ', referrer: '' }, 'Direct'],
  ['google cpc', { utmSource: 'google', utmMedium: 'cpc', utmCampaign: 'rowery_2026' }, 'Paid Search'],
  ['case does not matter', { utmSource: 'Google', utmMedium: 'CPC' }, 'Paid Search'],
  ['bing ppc', { utmSource: 'bing', utmMedium: 'ppc' }, 'Paid Search'],
  ['gclid without utm', { clickIds: 'gclid=Cj0KCQjw', referrer: 'https://www.google.com/' }, 'Paid Search'],
  ['msclkid without utm', { clickIds: 'msclkid=abc123' }, 'Paid Search'],
  ['gbraid (iOS app campaigns) without utm', { clickIds: 'gbraid=0AAAAA' }, 'Paid Search'],
  ['wbraid (web to app) without utm', { clickIds: 'wbraid=Cj0' }, 'Paid Search'],
  ['yclid without utm', { clickIds: 'yclid=123' }, 'Paid Search'],
  [
    'fbclid alone is not paid: the referrer decides',
    { clickIds: 'fbclid=IwAR', referrer: 'https://l.facebook.com/' },
    'Organic Social',
  ],
  ['utm tags win over a click id', { utmSource: 'newsletter', utmMedium: 'email', clickIds: 'gclid=x' }, 'Email'],
  ['google organic referrer', { referrer: 'https://www.google.com/' }, 'Organic Search'],
  ['google.pl organic referrer', { referrer: 'https://www.google.pl/' }, 'Organic Search'],
  ['duckduckgo referrer', { referrer: 'https://duckduckgo.com/' }, 'Organic Search'],
  ['utm medium organic', { utmSource: 'newsletter-partner', utmMedium: 'organic' }, 'Organic Search'],
  [
    'facebook paid_social',
    { utmSource: 'facebook', utmMedium: 'paid_social', clickIds: 'fbclid=IwAR0' },
    'Paid Social',
  ],
  ['facebook cpc', { utmSource: 'facebook', utmMedium: 'cpc' }, 'Paid Social'],
  ['instagram social', { utmSource: 'instagram', utmMedium: 'social' }, 'Organic Social'],
  [
    'facebook link referrer, fbclid ignored',
    { referrer: 'https://l.facebook.com/', clickIds: 'fbclid=IwAR0' },
    'Organic Social',
  ],
  ['t.co referrer', { referrer: 'https://t.co/abc' }, 'Organic Social'],
  ['wykop referrer', { referrer: 'https://wykop.pl/link/123' }, 'Organic Social'],
  ['any source with medium social', { utmSource: 'partner', utmMedium: 'social-media' }, 'Organic Social'],
  ['youtube referrer', { referrer: 'https://www.youtube.com/' }, 'Organic Video'],
  ['youtube cpv', { utmSource: 'youtube', utmMedium: 'cpv' }, 'Paid Video'],
  ['newsletter email', { utmSource: 'newsletter', utmMedium: 'email' }, 'Email'],
  ['source e-mail', { utmSource: 'e-mail', utmMedium: 'newsletter' }, 'Email'],
  ['affiliate', { utmSource: 'webepartners', utmMedium: 'affiliate' }, 'Affiliates'],
  ['display banner', { utmSource: 'onet', utmMedium: 'banner' }, 'Display'],
  ['cpm', { utmSource: 'wp', utmMedium: 'cpm' }, 'Display'],
  ['referral site', { referrer: 'https://forum.rowerowe.pl/watek/123' }, 'Referral'],
  ['utm medium referral', { utmSource: 'blog', utmMedium: 'referral' }, 'Referral'],
  ['ceneo referral is shopping', { referrer: 'https://www.ceneo.pl/12345' }, 'Organic Shopping'],
  ['allegro cpc is paid shopping', { utmSource: 'allegro', utmMedium: 'cpc' }, 'Paid Shopping'],
  ['shopping campaign paid', { utmSource: 'google', utmMedium: 'cpc', utmCampaign: 'pmax_shopping' }, 'Paid Shopping'],
  ['other paid', { utmSource: 'partner', utmMedium: 'paid' }, 'Paid Other'],
  ['cross-network campaign', { utmSource: 'google', utmMedium: 'cpc', utmCampaign: 'cross-network' }, 'Cross-network'],
  ['sms medium', { utmSource: 'kampania', utmMedium: 'sms' }, 'SMS'],
  ['push', { utmSource: 'app', utmMedium: 'web-push' }, 'Mobile Push Notifications'],
  ['source without medium', { utmSource: 'ulotka' }, 'Unassigned'],
  ['self-referral is direct', { referrer: 'https://sklep.pl/koszyk', landingUrl: 'https://www.sklep.pl/' }, 'Direct'],
];

for (const [name, input, expected] of cases) {
  test(`classifyChannelGroup: ${name} → ${expected}`, () => {
    assert.equal(classifyChannelGroup(input), expected);
  });
}

test('sourceLabel: utm_source lower-cased, else referrer host without www., else direct', () => {
  assert.equal(sourceLabel({ utmSource: 'Google', referrer: 'https://www.google.com/' }), 'google');
  assert.equal(sourceLabel({ utmSource: '  ', referrer: 'https://www.google.pl/search?q=rower' }), 'google.pl');
  assert.equal(sourceLabel({ referrer: 'https://L.Facebook.com/l.php?u=x' }), 'l.facebook.com');
  assert.equal(sourceLabel({ referrer: 'forum.rowerowe.pl/watek' }), 'forum.rowerowe.pl');
  assert.equal(sourceLabel({ referrer: 'not a url ::' }), 'direct');
  assert.equal(sourceLabel({}), 'direct');
  assert.equal(sourceLabel({ utmSource: null, referrer: null }), 'direct');
});

test('hostOf strips www. and a trailing dot, and rejects garbage', () => {
  assert.equal(hostOf('https://www.Example.com./a'), 'example.com');
  assert.equal(hostOf('http://sub.example.com:8080/'), 'sub.example.com');
  assert.equal(hostOf(''), null);
  assert.equal(hostOf(undefined), null);
});
