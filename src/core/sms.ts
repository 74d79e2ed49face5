/**
 * SMS text encoding, segmenting and concatenation for SMPP 3.4 (SPEC §4.2, §7 "SMPP"). Pure: no I/O.
 *
 * ## Alphabet (3GPP TS 23.038 §6.2.1 "GSM 7 bit default alphabet" and §6.2.1.1 its extension table)
 * A text goes out in the GSM 7-bit default alphabet when every character is in the basic table or in
 * the extension table, otherwise in UCS-2. An extension character (`FF ^ { } \ [ ~ ] | €`) is sent as
 * the escape septet 0x1B followed by its code, so it costs two septets. Tables checked against
 * 3GPP TS 23.038 as reproduced by the Unicode mapping https://www.unicode.org/Public/MAPPINGS/ETSI/GSM0338.TXT
 * and Sinch's SMPP page https://developers.sinch.com/docs/sms/smpp/message-encoding.
 *
 * No Polish letter is in the table: of the 18 (ą ć ę ł ń ó ś ź ż and their capitals) none has a code —
 * the table has ò (0x08) but not ó, Ö/ö but not Ó/ó — so any of them forces UCS-2.
 *
 * 0x09 is `Ç` in 23.038; GSM0338.TXT "corrects" it to `ç`, and handsets disagree. We encode only `Ç`
 * there and send `ç` as UCS-2, so that what the client sees is never a different letter; inbound 0x09
 * decodes to `Ç`. We do not fold look-alikes (typographic quotes, NBSP, Greek capitals that look Latin)
 * into GSM: the message must arrive as written.
 *
 * ## On the wire (SMPP 3.4 §5.2.19 data_coding)
 * `data_coding` is always explicit: 0 with GSM text *unpacked*, one septet per octet (the SMSC packs
 * them; with a UDH it also adds the fill bits), or 8 with UCS-2 as big-endian UTF-16. Characters
 * outside the BMP (emoji) go as UTF-16 surrogate pairs, which every current handset shows; they count
 * two units.
 *
 * ## Segments (3GPP TS 23.040 §9.2.3.24.1 "Concatenated short messages")
 * One message carries 160 septets or 70 UCS-2 units (140 octets). Longer texts are split; each part
 * starts with the UDH `05 00 03 ref total seq` (UDHL 5, IEI 0x00 "concatenated short messages, 8-bit
 * reference number", IEDL 3), set esm_class UDHI (0x40), and carries 153 septets or 67 units.
 * 23.040: "A character represented by an escape-sequence shall not be split in the middle" and "a UCS2
 * character shall not be split"; we also keep surrogate pairs whole, so a part may carry 152 / 66.
 * Inbound parts may also use IEI 0x08 (§9.2.3.24.8, 16-bit reference): `06 08 04 refHi refLo total seq`.
 */

import { invalid } from './errors.js';

export type SmsEncoding = 'gsm7' | 'ucs2';
export type SmsDataCoding = 0 | 8;

export const DATA_CODING: Readonly<Record<SmsEncoding, SmsDataCoding>> = Object.freeze({ gsm7: 0, ucs2: 8 });
/** esm_class bit 6 (SMPP 3.4 §5.2.12): the short_message begins with a User Data Header. */
export const ESM_CLASS_UDHI = 0x40;
export const GSM_ESCAPE = 0x1b;
/** Units per message: single, and per part of a concatenated message (8-bit reference UDH, 6 octets). */
export const SEGMENT_LIMITS: Readonly<Record<SmsEncoding, { single: number; multi: number }>> = Object.freeze({
  gsm7: { single: 160, multi: 153 },
  ucs2: { single: 70, multi: 67 },
});
/** total and seq are one octet each in the UDH. */
export const MAX_PARTS = 255;
export const DEFAULT_OUTBOUND_ONLY_PREFIXES: readonly string[] = Object.freeze(['48799']);

/**
 * The basic table, indexed by septet (23.038 §6.2.1). 0x1B is the escape to the extension table and
 * is never a character of its own (the placeholder here is skipped when building the lookup).
 */
const GSM_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅå' + // 0x00
  'Δ_ΦΓΛΩΠΨΣΘΞ\u001bÆæßÉ' + // 0x10 (Δ U+0394, Ω U+03A9)
  ' !"#¤%&\'()*+,-./' + // 0x20
  '0123456789:;<=>?' + // 0x30
  '¡ABCDEFGHIJKLMNO' + // 0x40
  'PQRSTUVWXYZÄÖÑÜ§' + // 0x50
  '¿abcdefghijklmno' + // 0x60
  'pqrstuvwxyzäöñüà'; // 0x70

/** The extension table (23.038 §6.2.1.1): septet after 0x1B → character. */
const GSM_EXTENSION: ReadonlyArray<readonly [number, string]> = [
  [0x0a, '\f'], // form feed (page break)
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

const BASIC_BY_CHAR = new Map<number, number>();
for (let septet = 0; septet < GSM_BASIC.length; septet++) {
  if (septet !== GSM_ESCAPE) BASIC_BY_CHAR.set(GSM_BASIC.charCodeAt(septet), septet);
}
const EXTENSION_BY_CHAR = new Map<number, number>(GSM_EXTENSION.map(([septet, ch]) => [ch.charCodeAt(0), septet]));
const EXTENSION_BY_SEPTET = new Map<number, string>(GSM_EXTENSION);

/** Septets for one code point: `[code]`, `[0x1B, code]`, or null when it is not in GSM 03.38. */
function gsmSeptets(codePoint: number): number[] | null {
  const basic = BASIC_BY_CHAR.get(codePoint);
  if (basic !== undefined) return [basic];
  const ext = EXTENSION_BY_CHAR.get(codePoint);
  if (ext !== undefined) return [GSM_ESCAPE, ext];
  return null;
}

const REPLACEMENT = 0xfffd;

/**
 * The text as UTF-16 code points; a lone surrogate (possible in a JS string, e.g. from `"\ud83d"` in
 * JSON) becomes U+FFFD so that what we send is well-formed UTF-16.
 */
function codePoints(text: string): number[] {
  const out: number[] = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    out.push(cp >= 0xd800 && cp <= 0xdfff ? REPLACEMENT : cp);
  }
  return out;
}

/** Chooses the alphabet and turns every character into its units (septets or UTF-16 code units). */
function tokenize(text: string): { encoding: SmsEncoding; tokens: number[][]; nonGsm: string[] } {
  const cps = codePoints(text);
  const gsm: number[][] = [];
  const nonGsm = new Set<string>();
  for (const cp of cps) {
    const septets = gsmSeptets(cp);
    if (septets) gsm.push(septets);
    else nonGsm.add(String.fromCodePoint(cp));
  }
  if (nonGsm.size === 0) return { encoding: 'gsm7', tokens: gsm, nonGsm: [] };
  const tokens = cps.map((cp) =>
    cp > 0xffff ? [0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff)] : [cp],
  );
  return { encoding: 'ucs2', tokens, nonGsm: [...nonGsm] };
}

/**
 * Splits tokens into segments: one if it all fits a single message, else parts of at most `multi`
 * units, never breaking a token (an escape sequence or a surrogate pair).
 */
function segment(tokens: number[][], encoding: SmsEncoding): number[][] {
  const { single, multi } = SEGMENT_LIMITS[encoding];
  const all = tokens.flat();
  if (all.length === 0) return [];
  if (all.length <= single) return [all];
  const parts: number[][] = [];
  let current: number[] = [];
  for (const token of tokens) {
    if (current.length + token.length > multi) {
      parts.push(current);
      current = [];
    }
    current.push(...token);
  }
  parts.push(current);
  return parts;
}

export interface SmsAnalysis {
  encoding: SmsEncoding;
  dataCoding: SmsDataCoding;
  /** Septets (GSM; extension characters count two) or UTF-16 code units (UCS-2). */
  units: number;
  /** Messages the operator will bill; 0 for an empty text. */
  segments: number;
  /** Capacity of one segment at this length: 160/153 or 70/67. */
  perSegment: number;
  /** Units still free in the last segment before another one is needed. */
  remainingInSegment: number;
  /** The distinct characters that forced UCS-2 (empty for GSM), so the composer can point at them. */
  nonGsmCharacters: string[];
}

/** What the composer shows: encoding, length and segment count, computed exactly as `encodeSms` splits. */
export function analyzeSms(text: string): SmsAnalysis {
  const { encoding, tokens, nonGsm } = tokenize(text);
  const parts = segment(tokens, encoding);
  const { single, multi } = SEGMENT_LIMITS[encoding];
  const perSegment = parts.length > 1 ? multi : single;
  const last = parts[parts.length - 1];
  return {
    encoding,
    dataCoding: DATA_CODING[encoding],
    units: parts.reduce((n, p) => n + p.length, 0),
    segments: parts.length,
    perSegment,
    remainingInSegment: perSegment - (last?.length ?? 0),
    nonGsmCharacters: nonGsm,
  };
}

/** Whether the whole text fits the GSM 7-bit default alphabet (basic + extension table). */
export function isGsm7(text: string): boolean {
  return tokenize(text).encoding === 'gsm7';
}

export interface SmsPart {
  dataCoding: SmsDataCoding;
  /** 0, or ESM_CLASS_UDHI when the part starts with the concatenation UDH. */
  esmClass: 0 | typeof ESM_CLASS_UDHI;
  /** `05 00 03 ref total seq`, present only on parts of a concatenated message. */
  udh?: Uint8Array;
  /** The text of this part: unpacked septets (data_coding 0) or UTF-16BE (data_coding 8). */
  payload: Uint8Array;
  /** What goes into submit_sm's short_message: udh followed by payload. */
  shortMessage: Uint8Array;
}

/** The 8-bit-reference concatenation UDH of 23.040 §9.2.3.24.1. */
export function concatUdh(reference: number, total: number, seq: number): Uint8Array {
  return Uint8Array.of(0x05, 0x00, 0x03, reference, total, seq);
}

/**
 * The parts to submit for a text. `reference` (0–255) must be the same for every part of one message
 * and should differ between consecutive long messages to the same number; the caller allocates it.
 * Throws a ValidationError for an empty text or one needing more than 255 parts.
 */
export function encodeSms(text: string, opts: { reference: number }): SmsPart[] {
  const { reference } = opts;
  if (!Number.isInteger(reference) || reference < 0 || reference > 255) {
    throw new RangeError(`SMS concatenation reference must be an integer 0–255, got ${reference}`);
  }
  const { encoding, tokens } = tokenize(text);
  const segments = segment(tokens, encoding);
  if (segments.length === 0) throw invalid('text', 'An SMS cannot be empty');
  if (segments.length > MAX_PARTS) {
    throw invalid('text', `The text needs ${segments.length} SMS parts; at most ${MAX_PARTS} can be joined`);
  }
  const dataCoding = DATA_CODING[encoding];
  const concatenated = segments.length > 1;
  return segments.map((units, i) => {
    const payload = encoding === 'gsm7' ? Uint8Array.from(units) : utf16be(units);
    if (!concatenated) return { dataCoding, esmClass: 0, payload, shortMessage: payload };
    const udh = concatUdh(reference, segments.length, i + 1);
    const shortMessage = new Uint8Array(udh.length + payload.length);
    shortMessage.set(udh, 0);
    shortMessage.set(payload, udh.length);
    return { dataCoding, esmClass: ESM_CLASS_UDHI, udh, payload, shortMessage };
  });
}

function utf16be(units: readonly number[]): Uint8Array {
  const out = new Uint8Array(units.length * 2);
  units.forEach((u, i) => {
    out[2 * i] = u >> 8;
    out[2 * i + 1] = u & 0xff;
  });
  return out;
}

/** An inbound short_message we cannot read: a malformed UDH or a data_coding that is not text. */
export class SmsDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SmsDecodeError';
  }
}

export interface ConcatInfo {
  /** Concatenation reference; compare together with `referenceBits` (8-bit 5 ≠ 16-bit 5). */
  ref: number;
  referenceBits: 8 | 16;
  total: number;
  /** 1-based position of this part. */
  seq: number;
}

/**
 * Splits a short_message whose esm_class has UDHI (0x40) set into its header and its text. Returns the
 * concatenation element (IEI 0x00, 8-bit reference, or IEI 0x08, 16-bit reference) or null when there is
 * none or it is one 23.040 says to ignore (total 0, seq 0 or seq > total). Other elements (ports, ...)
 * are skipped. Throws SmsDecodeError when the header's lengths run past the data.
 */
export function parseUdh(shortMessage: Uint8Array): { udh: ConcatInfo | null; payload: Uint8Array } {
  if (shortMessage.length === 0) throw new SmsDecodeError('UDHI set but short_message is empty');
  const udhl = shortMessage[0]!;
  const end = 1 + udhl;
  if (end > shortMessage.length) {
    throw new SmsDecodeError(`UDH length ${udhl} exceeds short_message length ${shortMessage.length}`);
  }
  let concat: ConcatInfo | null = null;
  let found = false;
  let i = 1;
  while (i < end) {
    if (i + 2 > end) throw new SmsDecodeError('UDH information element header runs past the UDH');
    const iei = shortMessage[i]!;
    const len = shortMessage[i + 1]!;
    const data = i + 2;
    if (data + len > end) throw new SmsDecodeError(`UDH element 0x${iei.toString(16)} runs past the UDH`);
    if (!found && ((iei === 0x00 && len === 3) || (iei === 0x08 && len === 4))) {
      found = true;
      const wide = iei === 0x08;
      const ref = wide ? (shortMessage[data]! << 8) | shortMessage[data + 1]! : shortMessage[data]!;
      const total = shortMessage[data + len - 2]!;
      const seq = shortMessage[data + len - 1]!;
      if (total > 0 && seq > 0 && seq <= total) concat = { ref, referenceBits: wide ? 16 : 8, total, seq };
    }
    i = data + len;
  }
  return { udh: concat, payload: shortMessage.subarray(end) };
}

export interface DecodeOptions {
  /**
   * What data_coding 0 ("SMSC default alphabet") means on this SMSC. SPEC §7 says unpacked GSM
   * septets, the default; some SMSCs send ASCII/Latin-1 instead, which is a per-connection setting.
   */
  defaultAlphabet?: 'gsm7' | 'latin1';
}

/**
 * Text of an inbound (deliver_sm) payload, after the UDH has been removed. Supported data_coding:
 * - 0: SMSC default — GSM unpacked septets (or Latin-1 with `defaultAlphabet: 'latin1'`). An octet
 *   above 0x7F cannot be a septet, so such a payload is read as Latin-1 (its ASCII part is then right).
 * - 1 (IA5/ASCII) and 3 (Latin-1): Latin-1, which contains ASCII.
 * - 8: UCS-2 read as UTF-16BE; an odd trailing octet or a lone surrogate becomes U+FFFD.
 * - 23.038 coding groups passed through by some SMSCs: 0x10–0x1F (general, uncompressed, with class),
 *   0xC0–0xDF (message waiting, GSM), 0xE0–0xEF (message waiting, UCS-2), 0xF0–0xFF (class, GSM).
 * Anything else (binary 2/4/0xF4–0xF7, compressed text, JIS, Cyrillic, ...) throws SmsDecodeError.
 */
export function decodeSms(bytes: Uint8Array, dataCoding: number, opts: DecodeOptions = {}): string {
  switch (alphabetOf(dataCoding)) {
    case 'default':
      if (opts.defaultAlphabet === 'latin1' || bytes.some((b) => b > 0x7f)) return decodeLatin1(bytes);
      return decodeGsm7(bytes);
    case 'gsm7':
      return decodeGsm7(bytes);
    case 'latin1':
      return decodeLatin1(bytes);
    case 'ucs2':
      return decodeUcs2(bytes);
    default:
      throw new SmsDecodeError(`Unsupported data_coding 0x${dataCoding.toString(16).padStart(2, '0')}`);
  }
}

function alphabetOf(dc: number): 'default' | 'gsm7' | 'latin1' | 'ucs2' | null {
  if (dc === 0) return 'default';
  if (dc === 1 || dc === 3) return 'latin1';
  if (dc === 8) return 'ucs2';
  if (dc >= 0x10 && dc <= 0x1f) return ['gsm7', null, 'ucs2', null][(dc >> 2) & 3] as 'gsm7' | 'ucs2' | null;
  if (dc >= 0xc0 && dc <= 0xdf) return 'gsm7';
  if (dc >= 0xe0 && dc <= 0xef) return 'ucs2';
  if (dc >= 0xf0 && dc <= 0xff) return dc & 0x04 ? null : 'gsm7';
  return null;
}

/**
 * Unpacked septets → text (23.038 §6.2.1.1): an escape followed by a code missing from the extension
 * table shows the basic-table character; ESC ESC (reserved for another extension table) and a trailing
 * lone ESC show a space. Bit 7 is ignored.
 */
function decodeGsm7(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const septet = bytes[i]! & 0x7f;
    if (septet !== GSM_ESCAPE) {
      out += GSM_BASIC[septet];
      continue;
    }
    const next = i + 1 < bytes.length ? bytes[i + 1]! & 0x7f : undefined;
    i++;
    if (next === undefined || next === GSM_ESCAPE) out += ' ';
    else out += EXTENSION_BY_SEPTET.get(next) ?? GSM_BASIC[next];
  }
  return out;
}

function decodeLatin1(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += String.fromCharCode(b);
  return out;
}

function decodeUcs2(bytes: Uint8Array): string {
  const units: number[] = [];
  for (let i = 0; i + 1 < bytes.length; i += 2) units.push((bytes[i]! << 8) | bytes[i + 1]!);
  let out = '';
  for (let i = 0; i < units.length; i++) {
    const u = units[i]!;
    const next = units[i + 1];
    if (u >= 0xd800 && u <= 0xdbff && next !== undefined && next >= 0xdc00 && next <= 0xdfff) {
      out += String.fromCharCode(u, next);
      i++;
    } else if (u >= 0xd800 && u <= 0xdfff) {
      out += String.fromCharCode(REPLACEMENT);
    } else {
      out += String.fromCharCode(u);
    }
  }
  if (bytes.length % 2 === 1) out += String.fromCharCode(REPLACEMENT);
  return out;
}

/**
 * Whether a number is outbound-only (SPEC R6: sends as "SMS", refuses inbound): it starts with one of
 * the configured prefixes (digits, default `48799`). `+` is optional on both sides; empty prefixes never
 * match, and neither does a string that is not all digits.
 */
export function isOutboundOnly(e164: string, prefixes: readonly string[] = DEFAULT_OUTBOUND_ONLY_PREFIXES): boolean {
  const digits = e164.trim().replace(/^\+/, '');
  if (!/^\d+$/.test(digits)) return false;
  return prefixes.some((p) => {
    const prefix = p.trim().replace(/^\+/, '');
    return prefix !== '' && digits.startsWith(prefix);
  });
}
