import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  isCalendarDate,
  localDate,
  makeZonedIsoFormatter,
  startOfLocalDay,
  startOfNextLocalDay,
  zonedWallTimeToInstant,
  zoneOffsetMinutes,
} from './time.js';

const W = 'Europe/Warsaw';

test('offsets of Warsaw in winter and summer', () => {
  assert.equal(zoneOffsetMinutes(Date.parse('2026-01-15T12:00:00Z'), W), 60);
  assert.equal(zoneOffsetMinutes(Date.parse('2026-07-15T12:00:00Z'), W), 120);
  assert.equal(zoneOffsetMinutes(Date.parse('2026-07-15T12:00:00Z'), 'UTC'), 0);
  assert.equal(zoneOffsetMinutes(Date.parse('2026-07-15T12:00:00Z'), 'Asia/Kathmandu'), 345);
});

test('a local day starts at local midnight, also across DST changes', () => {
  assert.equal(startOfLocalDay('2026-01-15', W), Date.parse('2026-01-14T23:00:00Z'));
  assert.equal(startOfLocalDay('2026-07-15', W), Date.parse('2026-07-14T22:00:00Z'));
  // 2026-03-29: clocks go 02:00 → 03:00 in Poland; the day is 23 hours long.
  assert.equal(startOfLocalDay('2026-03-29', W), Date.parse('2026-03-28T23:00:00Z'));
  assert.equal(startOfNextLocalDay('2026-03-29', W) - startOfLocalDay('2026-03-29', W), 23 * 3600_000);
  // 2026-10-25: clocks go 03:00 → 02:00; the day is 25 hours long.
  assert.equal(startOfNextLocalDay('2026-10-25', W) - startOfLocalDay('2026-10-25', W), 25 * 3600_000);
  // Month and year ends roll over.
  assert.equal(startOfNextLocalDay('2026-12-31', W), Date.parse('2026-12-31T23:00:00Z'));
});

test('wall times in the spring gap and the autumn overlap', () => {
  // 02:30 on 2026-03-29 does not exist in Warsaw: it lands just past the jump (03:30 CEST).
  assert.equal(zonedWallTimeToInstant(2026, 3, 29, 2, 30, W), Date.parse('2026-03-29T01:30:00Z'));
  // 02:30 on 2026-10-25 happens twice: the first one (CEST) is chosen.
  assert.equal(zonedWallTimeToInstant(2026, 10, 25, 2, 30, W), Date.parse('2026-10-25T00:30:00Z'));
});

test('23:30 Warsaw time belongs to that local date', () => {
  const t = Date.parse('2026-06-30T21:30:00Z'); // 23:30 CEST
  assert.equal(localDate(t, W), '2026-06-30');
  assert.ok(t < startOfNextLocalDay('2026-06-30', W));
  assert.ok(t >= startOfLocalDay('2026-06-30', W));
});

test('ISO 8601 with the zone offset', () => {
  const f = makeZonedIsoFormatter(W);
  assert.equal(f(Date.parse('2026-01-15T12:00:00.789Z')), '2026-01-15T13:00:00+01:00');
  assert.equal(f(Date.parse('2026-07-15T12:00:00Z')), '2026-07-15T14:00:00+02:00');
  assert.equal(f(Date.parse('2026-03-29T00:59:59Z')), '2026-03-29T01:59:59+01:00');
  assert.equal(f(Date.parse('2026-03-29T01:00:00Z')), '2026-03-29T03:00:00+02:00');
  assert.equal(
    makeZonedIsoFormatter('America/St_Johns')(Date.parse('2026-01-15T12:00:00Z')),
    '2026-01-15T08:30:00-03:30',
  );
});

test('calendar dates are validated', () => {
  assert.ok(isCalendarDate('2024-02-29'));
  assert.ok(!isCalendarDate('2026-02-29'));
  assert.ok(!isCalendarDate('2026-13-01'));
  assert.ok(!isCalendarDate('2026-1-01'));
});
