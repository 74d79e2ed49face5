// PDU coding through the `smpp` package (no @types exist, so it is typed here, locally, rather
// than with a project-wide ambient declaration), plus what an SMSC needs around it: the raw bytes
// of the mandatory fields, GSM 03.38 / UCS-2 text, and concatenation UDH.
// References: SMPP v3.4 (Issue 1.2) §4 PDU definitions, §5.2.19 data_coding, §5.2.12 esm_class,
// §5.2.17 registered_delivery, §5.3 TLVs; 3GPP TS 23.040 §9.2.3.24.1 (8-bit reference
// concatenation IE 0x00) and §9.2.3.24.8 (16-bit, IE 0x08); 3GPP TS 23.038 (GSM 7-bit alphabet).
import { createRequire } from 'node:module';

export interface Pdu {
  command: string;
  command_id: number;
  command_status: number;
  sequence_number: number;
  [field: string]: unknown;
  isResponse(): boolean;
  response(options?: Record<string, unknown>): Pdu;
  toBuffer(): Buffer;
}

interface FieldType {
  read(buffer: Buffer, offset: number): unknown;
  size(value: unknown): number;
}

interface SmppModule {
  PDU: { new (command: string, options?: Record<string, unknown>): Pdu; fromBuffer(b: Buffer): Pdu | false };
  commands: Record<string, { id: number; params?: Record<string, { type: FieldType }> }>;
  errors: Record<string, number>;
  gsmCoder: { encode(text: string, table: number): Buffer; decode(bytes: Buffer, table: number): string };
  encodings: { ASCII: { match(text: string): boolean } };
}

export const smpp = createRequire(import.meta.url)('smpp') as SmppModule;

export const ESME = {
  ROK: 0x00,
  RINVMSGLEN: 0x01,
  RINVCMDLEN: 0x02,
  RINVCMDID: 0x03,
  RINVBNDSTS: 0x04,
  RALYBND: 0x05,
  RSYSERR: 0x08,
  RINVSRCADR: 0x0a,
  RINVDSTADR: 0x0b,
  RBINDFAIL: 0x0d,
  RINVPASWD: 0x0e,
  RINVSYSID: 0x0f,
  RMSGQFUL: 0x14,
  RSUBMITFAIL: 0x45,
  RTHROTTLED: 0x58,
  RX_T_APPN: 0x64,
} as const;

export const DATA_CODING = { GSM: 0x00, IA5: 0x01, LATIN1: 0x03, BINARY: 0x04, UCS2: 0x08 } as const;
export const ESM_CLASS_RECEIPT = 0x04;
export const ESM_CLASS_UDHI = 0x40;
/** The SMPP header: command_length, command_id, command_status, sequence_number. */
export const HEADER_LENGTH = 16;
/** Largest PDU the simulator accepts (the smpp package's own limit). */
export const MAX_PDU_LENGTH = 16384;

export function encodePdu(command: string, options: Record<string, unknown>): Buffer {
  return new smpp.PDU(command, options).toBuffer();
}

/**
 * Reads the mandatory fields of a PDU as raw values (cstrings as text, short_message as the exact
 * octets) and the TLVs as tag → octets, without the package's text decoding, so that what is
 * recorded is what was on the wire.
 */
export function rawFields(
  raw: Buffer,
  command: string,
): { fields: Record<string, unknown>; tlvs: Map<number, Buffer> } {
  const params = smpp.commands[command]?.params ?? {};
  const fields: Record<string, unknown> = {};
  let offset = HEADER_LENGTH;
  for (const [name, p] of Object.entries(params)) {
    if (offset >= raw.length) break;
    const value = p.type.read(raw, offset);
    fields[name] = value;
    offset += p.type.size(value);
  }
  const tlvs = new Map<number, Buffer>();
  while (offset + 4 <= raw.length) {
    const tag = raw.readUInt16BE(offset);
    const len = raw.readUInt16BE(offset + 2);
    tlvs.set(tag, raw.subarray(offset + 4, offset + 4 + len));
    offset += 4 + len;
  }
  return { fields, tlvs };
}

export interface Concat {
  ref: number;
  total: number;
  seq: number;
}

/** Splits a short_message that carries a UDH (esm_class UDHI set) into UDH and payload. */
export function splitUdh(sm: Buffer): { udh: Buffer; payload: Buffer; concat: Concat | null } {
  const udhl = sm[0] ?? 0;
  const udh = sm.subarray(0, 1 + udhl);
  const payload = sm.subarray(1 + udhl);
  let concat: Concat | null = null;
  for (let i = 1; i + 1 < udh.length; ) {
    const iei = udh[i]!;
    const len = udh[i + 1]!;
    const d = udh.subarray(i + 2, i + 2 + len);
    if (iei === 0x00 && len === 3) concat = { ref: d[0]!, total: d[1]!, seq: d[2]! };
    if (iei === 0x08 && len === 4) concat = { ref: d.readUInt16BE(0), total: d[2]!, seq: d[3]! };
    i += 2 + len;
  }
  return { udh, payload, concat };
}

/** UDH with the 8-bit reference concatenation IE. */
export function concatUdh(ref: number, total: number, seq: number): Buffer {
  return Buffer.from([0x05, 0x00, 0x03, ref & 0xff, total, seq]);
}

/** True when every character has a GSM 03.38 default-alphabet (or extension-table) code. */
export function isGsm(text: string): boolean {
  return smpp.encodings.ASCII.match(text);
}

/** Text as the octets of data_coding 0 (GSM 03.38 unpacked, one septet per octet) or 8 (UCS-2 big-endian). */
export function encodeText(text: string, dataCoding: number): Buffer {
  if (dataCoding === DATA_CODING.UCS2) {
    const le = Buffer.from(text, 'utf16le');
    return Buffer.from(le).swap16();
  }
  if (dataCoding === DATA_CODING.LATIN1) return Buffer.from(text, 'latin1');
  return smpp.gsmCoder.encode(text, 0);
}

export function decodeText(bytes: Buffer, dataCoding: number): string {
  switch (dataCoding & 0x0f) {
    case DATA_CODING.UCS2: {
      const even = Buffer.from(bytes.subarray(0, bytes.length - (bytes.length % 2)));
      return even.swap16().toString('utf16le');
    }
    case DATA_CODING.LATIN1:
      return bytes.toString('latin1');
    case DATA_CODING.IA5:
      return bytes.toString('ascii');
    case DATA_CODING.BINARY:
      return bytes.toString('hex');
    default:
      return smpp.gsmCoder.decode(bytes, 0);
  }
}

/**
 * Cuts encoded text into the payloads of concatenated parts: 153 septets (GSM) or 67 UCS-2 units
 * per part once a UDH is needed, 160 / 70 when one part suffices; never splitting a GSM escape
 * (0x1B + extension char) or a UTF-16 surrogate pair.
 */
export function segment(bytes: Buffer, dataCoding: number): Buffer[] {
  const ucs2 = dataCoding === DATA_CODING.UCS2;
  if (bytes.length <= 140 && ucs2) return [bytes];
  if (bytes.length <= 160 && !ucs2) return [bytes];
  const size = ucs2 ? 134 : 153;
  const parts: Buffer[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = Math.min(start + size, bytes.length);
    if (end < bytes.length) {
      if (ucs2) {
        const lastUnit = bytes.readUInt16BE(end - 2);
        if (lastUnit >= 0xd800 && lastUnit <= 0xdbff) end -= 2;
      } else if (bytes[end - 1] === 0x1b) {
        end -= 1;
      }
    }
    parts.push(bytes.subarray(start, end));
    start = end;
  }
  return parts;
}
