// Durations as written in scenarios and configs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_DURATION_MS, parseDuration } from '../../shared/duration.js';
import { InputError } from '../../shared/errors.js';

test('parseDuration', () => {
  const table: Array<[string | number, number]> = [
    ['40s', 40_000], ['250ms', 250], ['1.5s', 1500], ['2m', 120_000], ['1h', 3_600_000], [15, 15],
  ];
  for (const [given, want] of table) assert.equal(parseDuration(given), want, String(given));
  for (const bad of ['', '10', 's', '-1s', '10 parsecs', -5]) assert.throws(() => parseDuration(bad as string), /not a duration/);
});

test('parseDuration: huge numbers are refused as too long, never Infinity; every refusal is an InputError', () => {
  for (const bad of [`${'9'.repeat(400)}s`, `${'9'.repeat(20)}d`, '36501d', 1e300, Number.MAX_VALUE]) {
    assert.throws(() => parseDuration(bad), (e: unknown) => e instanceof InputError && /too long|not a duration/.test(e.message), String(bad).slice(0, 20));
  }
  assert.throws(() => parseDuration(Infinity), InputError);
  assert.throws(() => parseDuration('1'.repeat(25) + 's'), /too long/);
  assert.equal(parseDuration('36500d'), MAX_DURATION_MS);
});
