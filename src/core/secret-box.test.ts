import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mask, open, SecretBoxError, seal } from './secret-box.js';

const KEY = 'k'.repeat(40);

test('sealed credentials open only with the same key and context', () => {
  const s = seal(KEY, 'channel:1:2', '{"botToken":"123:ABC"}');
  assert.ok(!s.includes('ABC'));
  assert.equal(open(KEY, 'channel:1:2', s), '{"botToken":"123:ABC"}');
  assert.notEqual(seal(KEY, 'channel:1:2', 'x'), seal(KEY, 'channel:1:2', 'x'), 'a fresh IV each time');
  assert.throws(() => open('j'.repeat(40), 'channel:1:2', s), SecretBoxError);
  assert.throws(() => open(KEY, 'channel:1:3', s), SecretBoxError);
  const tampered = `${s.slice(0, -3)}${s.endsWith('A') ? 'B' : 'A'}${s.slice(-2)}`;
  assert.throws(() => open(KEY, 'channel:1:2', tampered), SecretBoxError);
  assert.throws(() => open(KEY, 'channel:1:2', 'garbage'), SecretBoxError);
});

test('masking keeps only the last four characters', () => {
  assert.equal(mask('123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw'), '••••Dsaw');
  assert.equal(mask('short'), '••••');
});
