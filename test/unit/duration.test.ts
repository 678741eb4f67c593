// Durations as written in scenarios and configs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration } from '../../shared/duration.js';

test('parseDuration', () => {
  const table: Array<[string | number, number]> = [
    ['40s', 40_000], ['250ms', 250], ['1.5s', 1500], ['2m', 120_000], ['1h', 3_600_000], [15, 15],
  ];
  for (const [given, want] of table) assert.equal(parseDuration(given), want, String(given));
  for (const bad of ['', '10', 's', '-1s', '10 parsecs', -5]) assert.throws(() => parseDuration(bad as string), /not a duration/);
});
