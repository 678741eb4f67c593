// The peers' detection models bench/handover compares with: mwan3's default tracking and the NCM watchdog.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { median, mwan3DetectMs, ncmDetectMs, seeded } from '../../bench/baselines.js';

test('mwan3 default tracking: 5 failed rounds of 4 s timeout + 10 s interval after the next round starts', () => {
  assert.equal(mwan3DetectMs(0), 4 * 14_000 + 4000);
  assert.equal(mwan3DetectMs(0.5), 5000 + 60_000);
  assert.equal(mwan3DetectMs(0.5, { intervalMs: 1000, timeoutMs: 1000, down: 1 }), 1500, 'one round: its start and its timeout');
});

test('NCM watchdog: its next check within its 60 s loop, then 3 pings of 10 s wait and 3 s sleep each', () => {
  assert.equal(ncmDetectMs(0), 3 * 13_000);
  assert.equal(ncmDetectMs(0.5), 30_000 + 39_000);
  assert.equal(ncmDetectMs(0.5, { loopMs: 1000, pingWaitMs: 0, everyMs: 3000, tries: 3 }), 500 + 9000, 'no wait: 3 tries 3 s apart');
});

test('seeded phases are reproducible and uniform enough; median', () => {
  const a = seeded(7);
  const b = seeded(7);
  const xs = Array.from({ length: 1000 }, () => a());
  assert.deepEqual(xs.slice(0, 5), Array.from({ length: 5 }, () => b()));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  assert.ok(Math.abs(median(xs) - 0.5) < 0.05);
  assert.equal(median([3, 1, 2, 10]), 2.5);
});
