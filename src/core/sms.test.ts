import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from './errors.js';
import {
  analyzeSms,
  decodeSms,
  ESM_CLASS_UDHI,
  encodeSms,
  isGsm7,
  isOutboundOnly,
  parseUdh,
  SmsDecodeError,
  type SmsPart,
} from './sms.js';

const hex = (bytes: Uint8Array): string => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');
const a = (n: number): string => 'a'.repeat(n);
const EMOJI = '🚲'; // U+1F6B2: one code point, two UTF-16 units

/** Text of each part, decoded on its own (as a handset would show a part that arrived alone). */
function partTexts(parts: SmsPart[]): string[] {
  return parts.map((p) => decodeSms(p.payload, p.dataCoding));
}

test('segment table: encoding, units, segments and room left', () => {
  const cases: Array<{
    name: string;
    text: string;
    encoding: 'gsm7' | 'ucs2';
    units: number;
    segments: number;
    perSegment: number;
    remaining: number;
  }> = [
    { name: 'empty', text: '', encoding: 'gsm7', units: 0, segments: 0, perSegment: 160, remaining: 160 },
    { name: 'one char', text: 'a', encoding: 'gsm7', units: 1, segments: 1, perSegment: 160, remaining: 159 },
    { name: 'ASCII 160', text: a(160), encoding: 'gsm7', units: 160, segments: 1, perSegment: 160, remaining: 0 },
    { name: 'ASCII 161', text: a(161), encoding: 'gsm7', units: 161, segments: 2, perSegment: 153, remaining: 145 },
    { name: 'ASCII 306', text: a(306), encoding: 'gsm7', units: 306, segments: 2, perSegment: 153, remaining: 0 },
    { name: 'ASCII 307', text: a(307), encoding: 'gsm7', units: 307, segments: 3, perSegment: 153, remaining: 152 },
    { name: '{ counts two', text: '{', encoding: 'gsm7', units: 2, segments: 1, perSegment: 160, remaining: 158 },
    {
      name: 'every extension char counts two',
      text: '€^{}[]~|\\\f',
      encoding: 'gsm7',
      units: 20,
      segments: 1,
      perSegment: 160,
      remaining: 140,
    },
    {
      name: '158 + { = 160',
      text: a(158) + '{',
      encoding: 'gsm7',
      units: 160,
      segments: 1,
      perSegment: 160,
      remaining: 0,
    },
    {
      name: '159 + { = 161',
      text: a(159) + '{',
      encoding: 'gsm7',
      units: 161,
      segments: 2,
      perSegment: 153,
      remaining: 145,
    },
    {
      // 152 + € would put ESC as the 153rd septet and € in part 2: the whole € moves to part 2.
      name: 'escape at the 153 edge moves whole',
      text: a(152) + '€' + a(10),
      encoding: 'gsm7',
      units: 164,
      segments: 2,
      perSegment: 153,
      remaining: 153 - 12,
    },
    {
      name: 'GSM accents stay GSM',
      text: 'Ñandu Öl Üben é à ò Ç ß Æ ¿¡ Δ',
      encoding: 'gsm7',
      units: 30,
      segments: 1,
      perSegment: 160,
      remaining: 130,
    },
    { name: 'UCS-2 70', text: 'ż' + a(69), encoding: 'ucs2', units: 70, segments: 1, perSegment: 70, remaining: 0 },
    { name: 'UCS-2 71', text: 'ż' + a(70), encoding: 'ucs2', units: 71, segments: 2, perSegment: 67, remaining: 63 },
    { name: 'UCS-2 134', text: 'ż' + a(133), encoding: 'ucs2', units: 134, segments: 2, perSegment: 67, remaining: 0 },
    { name: 'emoji counts two', text: EMOJI, encoding: 'ucs2', units: 2, segments: 1, perSegment: 70, remaining: 68 },
    {
      // 66 units + emoji would end part 1 on a high surrogate: the pair moves to part 2.
      name: 'emoji at the 67 edge moves whole',
      text: a(66) + EMOJI + a(10),
      encoding: 'ucs2',
      units: 78,
      segments: 2,
      perSegment: 67,
      remaining: 67 - 12,
    },
    { name: 'ç is not Ç', text: 'ç', encoding: 'ucs2', units: 1, segments: 1, perSegment: 70, remaining: 69 },
    { name: 'tab is not GSM', text: 'a\tb', encoding: 'ucs2', units: 3, segments: 1, perSegment: 70, remaining: 67 },
  ];
  for (const c of cases) {
    const r = analyzeSms(c.text);
    assert.deepEqual(
      {
        encoding: r.encoding,
        dataCoding: r.dataCoding,
        units: r.units,
        segments: r.segments,
        perSegment: r.perSegment,
        remaining: r.remainingInSegment,
      },
      {
        encoding: c.encoding,
        dataCoding: c.encoding === 'gsm7' ? 0 : 8,
        units: c.units,
        segments: c.segments,
        perSegment: c.perSegment,
        remaining: c.remaining,
      },
      c.name,
    );
    if (c.text !== '') assert.equal(encodeSms(c.text, { reference: 1 }).length, c.segments, `${c.name}: parts`);
  }
});

test('each of the 18 Polish letters forces UCS-2, ó included', () => {
  const letters = [...'ąćęłńóśźżĄĆĘŁŃÓŚŹŻ'];
  assert.equal(letters.length, 18);
  for (const letter of letters) {
    const r = analyzeSms(`Dzien dobry ${letter}`);
    assert.equal(r.encoding, 'ucs2', letter);
    assert.equal(r.dataCoding, 8, letter);
    assert.deepEqual(r.nonGsmCharacters, [letter], letter);
    assert.equal(isGsm7(letter), false, letter);
  }
  // The neighbours that ARE in GSM 03.38 stay GSM: ò (0x08), Ö/ö (0x5C/0x7C), é (0x05).
  assert.equal(analyzeSms('ò Ö ö é').encoding, 'gsm7');
});

test('an escape sequence is never split across parts', () => {
  for (const ch of ['€', '^', '{', '}', '[', ']', '~', '|', '\\', '\f']) {
    for (let before = 150; before <= 154; before++) {
      const text = a(before) + ch + a(200);
      const parts = encodeSms(text, { reference: 9 });
      for (const [i, p] of parts.entries()) {
        assert.ok(p.payload.length <= 153, `${ch} after ${before}: part ${i + 1} is ${p.payload.length}`);
        assert.notEqual(p.payload[p.payload.length - 1], 0x1b, `${ch} after ${before}: part ${i + 1} ends in ESC`);
      }
      assert.equal(partTexts(parts).join(''), text, `${ch} after ${before}`);
    }
  }
  const edge = encodeSms(a(152) + '€' + a(10), { reference: 1 });
  assert.deepEqual(
    edge.map((p) => p.payload.length),
    [152, 12],
  );
  assert.equal(hex(edge[1]!.payload.subarray(0, 2)), '1b 65');
});

test('a surrogate pair is never split across parts', () => {
  for (let before = 64; before <= 68; before++) {
    const text = 'ł' + a(before - 1) + EMOJI + 'ź'.repeat(80);
    const parts = encodeSms(text, { reference: 3 });
    for (const [i, p] of parts.entries()) {
      assert.ok(p.payload.length <= 134, `emoji after ${before}: part ${i + 1}`);
      const lastUnit = (p.payload[p.payload.length - 2]! << 8) | p.payload[p.payload.length - 1]!;
      assert.ok(
        lastUnit < 0xd800 || lastUnit > 0xdbff,
        `emoji after ${before}: part ${i + 1} ends on a high surrogate`,
      );
    }
    assert.equal(partTexts(parts).join(''), text, `emoji after ${before}`);
  }
  const edge = encodeSms(a(66) + EMOJI + a(10), { reference: 1 });
  assert.deepEqual(
    edge.map((p) => p.payload.length / 2),
    [66, 12],
  );
});

test('concatenation UDH bytes are exactly 05 00 03 ref total seq, UDHI set', () => {
  const parts = encodeSms(a(400), { reference: 0xa4 });
  assert.equal(parts.length, 3);
  parts.forEach((p, i) => {
    assert.equal(hex(p.udh!), `05 00 03 a4 03 0${i + 1}`);
    assert.equal(p.esmClass, ESM_CLASS_UDHI);
    assert.equal(p.dataCoding, 0);
    assert.equal(hex(p.shortMessage.subarray(0, 6)), hex(p.udh!));
    assert.deepEqual(p.shortMessage.subarray(6), p.payload);
  });
  assert.deepEqual(
    parts.map((p) => p.payload.length),
    [153, 153, 94],
  );

  const single = encodeSms('Hej', { reference: 7 });
  assert.equal(single.length, 1);
  assert.equal(single[0]!.udh, undefined);
  assert.equal(single[0]!.esmClass, 0);
  assert.equal(hex(single[0]!.shortMessage), '48 65 6a');

  const ucs2 = encodeSms('ż'.repeat(71), { reference: 255 });
  assert.deepEqual(
    ucs2.map((p) => [hex(p.udh!), p.dataCoding, p.payload.length]),
    [
      ['05 00 03 ff 02 01', 8, 134],
      ['05 00 03 ff 02 02', 8, 8],
    ],
  );
  assert.equal(hex(ucs2[0]!.payload.subarray(0, 2)), '01 7c'); // ż U+017C, big-endian
});

test('GSM payload is unpacked septets with the right codes', () => {
  const [p] = encodeSms('@£$_€[ Ä§', { reference: 0 });
  assert.equal(hex(p!.payload), '00 01 02 11 1b 65 1b 3c 20 5b 5f');
});

test('round trip encode → decode for GSM and UCS-2 texts', () => {
  const texts = [
    'Hello',
    'Cena: 100€ [netto] {rabat} ~5% ^ | \\ koniec\fstrona',
    '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ÄÖÑÜ§¿äöñüà',
    'Zażółć gęślą jaźń ĄĆĘŁŃÓŚŹŻ',
    'Dzięki! 👍🏽 Do zobaczenia 🚲 € [ ]',
    ('Długi tekst po polsku z emoji 🎉 i znakami € [ ] ' as string).repeat(12),
    a(152) + '€'.repeat(200),
  ];
  for (const text of texts) {
    const parts = encodeSms(text, { reference: 42 });
    const whole = new Uint8Array(parts.reduce((n, p) => n + p.payload.length, 0));
    let at = 0;
    for (const p of parts) {
      whole.set(p.payload, at);
      at += p.payload.length;
    }
    assert.equal(decodeSms(whole, parts[0]!.dataCoding), text, text.slice(0, 30));
    // Inbound path: parse each short_message's UDH, decode the parts, join by seq.
    const joined = parts
      .map((p) => (p.esmClass & ESM_CLASS_UDHI ? parseUdh(p.shortMessage) : { udh: null, payload: p.shortMessage }))
      .sort((x, y) => (x.udh?.seq ?? 0) - (y.udh?.seq ?? 0))
      .map((x) => decodeSms(x.payload, parts[0]!.dataCoding))
      .join('');
    assert.equal(joined, text);
  }
});

test('parseUdh reads 8-bit and 16-bit references and skips other elements', () => {
  const eight = parseUdh(Uint8Array.of(0x05, 0x00, 0x03, 0x2a, 0x03, 0x02, 0x48, 0x69));
  assert.deepEqual(eight.udh, { ref: 0x2a, referenceBits: 8, total: 3, seq: 2 });
  assert.equal(hex(eight.payload), '48 69');

  const sixteen = parseUdh(Uint8Array.of(0x06, 0x08, 0x04, 0x12, 0x34, 0x02, 0x01, 0x00, 0x7c));
  assert.deepEqual(sixteen.udh, { ref: 0x1234, referenceBits: 16, total: 2, seq: 1 });
  assert.equal(decodeSms(sixteen.payload, 8), '|');

  // Port addressing (IEI 0x05) before the 16-bit concat element.
  const withPorts = parseUdh(
    Uint8Array.of(0x0c, 0x05, 0x04, 0x0b, 0x84, 0x23, 0xf0, 0x08, 0x04, 0xbe, 0xef, 0x04, 0x04, 0x61),
  );
  assert.deepEqual(withPorts.udh, { ref: 0xbeef, referenceBits: 16, total: 4, seq: 4 });
  assert.equal(decodeSms(withPorts.payload, 0), 'a');

  // No concat element; and ones 23.040 says to ignore (seq 0, seq > total, total 0).
  assert.equal(parseUdh(Uint8Array.of(0x04, 0x05, 0x02, 0x0b, 0x84, 0x61)).udh, null);
  assert.equal(parseUdh(Uint8Array.of(0x05, 0x00, 0x03, 1, 3, 0, 0x61)).udh, null);
  assert.equal(parseUdh(Uint8Array.of(0x05, 0x00, 0x03, 1, 3, 4, 0x61)).udh, null);
  assert.equal(parseUdh(Uint8Array.of(0x05, 0x00, 0x03, 1, 0, 0, 0x61)).udh, null);

  // Malformed headers throw a typed error instead of reading past the data.
  assert.throws(() => parseUdh(new Uint8Array(0)), SmsDecodeError);
  assert.throws(() => parseUdh(Uint8Array.of(0x05, 0x00, 0x03, 1)), SmsDecodeError);
  assert.throws(() => parseUdh(Uint8Array.of(0x03, 0x00, 0x03, 1, 0x61)), SmsDecodeError);
  assert.throws(() => parseUdh(Uint8Array.of(0x01, 0x00)), SmsDecodeError);
});

test('decodeSms: data codings, escapes and bad input', () => {
  // GSM: unknown escape shows the basic character; ESC ESC and a trailing ESC show a space.
  assert.equal(decodeSms(Uint8Array.of(0x1b, 0x41, 0x1b, 0x1b, 0x61, 0x1b), 0), 'A a ');
  // data_coding 0 with octets above 0x7F cannot be septets: read as Latin-1.
  assert.equal(decodeSms(Uint8Array.of(0x43, 0x61, 0x66, 0xe9, 0x40), 0), 'Café@');
  // An SMSC configured as ASCII/Latin-1 for data_coding 0.
  assert.equal(decodeSms(Uint8Array.of(0x40, 0x5b, 0x24), 0, { defaultAlphabet: 'latin1' }), '@[$');
  assert.equal(decodeSms(Uint8Array.of(0x40, 0x5b, 0x24), 0), '¡Ä¤');
  assert.equal(decodeSms(Uint8Array.of(0x48, 0x69), 1), 'Hi');
  assert.equal(decodeSms(Uint8Array.of(0xf3, 0x7e), 3), 'ó~');
  // UCS-2: odd length and lone surrogates become U+FFFD, valid pairs survive.
  assert.equal(decodeSms(Uint8Array.of(0x00, 0x61, 0x00), 8), 'a\uFFFD');
  assert.equal(decodeSms(Uint8Array.of(0xd8, 0x3d, 0x00, 0x61), 8), '\uFFFDa');
  assert.equal(decodeSms(Uint8Array.of(0xdc, 0x00), 8), '\uFFFD');
  assert.equal(decodeSms(Uint8Array.of(0xd8, 0x3d, 0xde, 0xb2), 8), EMOJI);
  // 23.038 coding groups: 0x18 UCS-2 class 0 (flash), 0xF0 GSM class 0.
  assert.equal(decodeSms(Uint8Array.of(0x01, 0x42), 0x18), 'ł');
  assert.equal(decodeSms(Uint8Array.of(0x1b, 0x65), 0xf0), '€');
  for (const dc of [2, 4, 5, 6, 0x14, 0xf4]) {
    assert.throws(() => decodeSms(Uint8Array.of(1, 2), dc), SmsDecodeError, `dc ${dc}`);
  }
});

test('encodeSms rejects bad input with clear errors', () => {
  assert.throws(() => encodeSms('', { reference: 1 }), ValidationError);
  assert.throws(() => encodeSms(a(153 * 255 + 1), { reference: 1 }), ValidationError);
  assert.equal(encodeSms(a(153 * 255), { reference: 1 }).length, 255);
  for (const reference of [-1, 256, 1.5, Number.NaN]) {
    assert.throws(() => encodeSms('x', { reference }), RangeError, String(reference));
  }
  // A lone surrogate is sent as U+FFFD, not as invalid UTF-16.
  const [p] = encodeSms('a\uD83D', { reference: 1 });
  assert.equal(hex(p!.payload), '00 61 ff fd');
});

test('isOutboundOnly matches configured prefixes with or without +', () => {
  assert.equal(isOutboundOnly('+48799123456'), true);
  assert.equal(isOutboundOnly('48799123456'), true);
  assert.equal(isOutboundOnly('+48600123456'), false);
  assert.equal(isOutboundOnly('+4879'), false);
  assert.equal(isOutboundOnly('+48600123456', ['48600', '48799']), true);
  assert.equal(isOutboundOnly('+48600123456', ['+486']), true);
  assert.equal(isOutboundOnly('+48600123456', ['']), false);
  assert.equal(isOutboundOnly('+48600123456', []), false);
  assert.equal(isOutboundOnly('SMS', ['']), false);
  assert.equal(isOutboundOnly('abc48799', ['48799']), false);
});

test('GSM tables: every basic and extension code decodes and encodes back to itself', () => {
  for (let septet = 0; septet < 128; septet++) {
    if (septet === 0x1b) continue;
    const ch = decodeSms(Uint8Array.of(septet), 0);
    assert.equal([...ch].length, 1, `0x${septet.toString(16)}`);
    assert.equal(hex(encodeSms(ch, { reference: 0 })[0]!.payload), hex(Uint8Array.of(septet)), JSON.stringify(ch));
  }
  const extension: Array<[number, string]> = [
    [0x0a, '\f'],
    [0x14, '^'],
    [0x28, '{'],
    [0x29, '}'],
    [0x2f, '\\'],
    [0x3c, '['],
    [0x3d, '~'],
    [0x3e, ']'],
    [0x40, '|'],
    [0x65, '€'],
  ];
  for (const [code, ch] of extension) {
    assert.equal(decodeSms(Uint8Array.of(0x1b, code), 0), ch);
    assert.equal(hex(encodeSms(ch, { reference: 0 })[0]!.payload), hex(Uint8Array.of(0x1b, code)));
  }
  // Spot checks against 23.038: Δ is U+0394 at 0x10, Ω is U+03A9 at 0x15, 0x09 is capital Ç.
  assert.equal(decodeSms(Uint8Array.of(0x10, 0x15, 0x09), 0), '\u0394\u03A9\u00C7');
});
