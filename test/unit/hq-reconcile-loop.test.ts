// The concentrator's periodic reconcile on a fake timer: a pass every interval, a failed pass retried at 1 s, 2 s, 4 s…
// up to the interval, back to the interval once a pass succeeds; nothing after stop().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReconcileLoop, nextDelay } from '../../concentrator/reconcile/loop.js';
import type { ReconcileResult } from '../../concentrator/reconcile/reconciler.js';
import { SimClock } from '../../shared/clock.js';

test('nextDelay: the interval after success; 1 s doubling after failures, capped at the interval', () => {
  const cases: Array<{ ok: boolean; failures: number; interval: number; want: number }> = [
    { ok: true, failures: 0, interval: 10_000, want: 10_000 },
    { ok: false, failures: 1, interval: 10_000, want: 1000 },
    { ok: false, failures: 2, interval: 10_000, want: 2000 },
    { ok: false, failures: 4, interval: 10_000, want: 8000 },
    { ok: false, failures: 5, interval: 10_000, want: 10_000 },
    { ok: false, failures: 500, interval: 10_000, want: 10_000 },
    { ok: false, failures: 1, interval: 1000, want: 1000 },
  ];
  for (const c of cases) assert.equal(nextDelay(c.ok, c.failures, c.interval), c.want, JSON.stringify(c));
});

test('the loop retries a failed pass until it applies, then runs every interval; stop() ends it', async () => {
  const timer = new SimClock();
  const passes: number[] = [];
  const outcomes = [false, false, 'throw', true, true];
  const warnings: unknown[] = [];
  const loop = new ReconcileLoop({
    intervalMs: 10_000,
    timer,
    log: { warn: (o: unknown) => void warnings.push(o) } as never,
    reconcile: async (): Promise<ReconcileResult> => {
      passes.push(timer.now());
      const o = outcomes.shift() ?? true;
      if (o === 'throw') throw new Error('wg: no such device');
      return { at: String(timer.now()), ok: o === true, changes: [] };
    },
  });
  loop.start({ at: '0', ok: false, changes: [] }); // the daemon's first pass failed
  const settle = () => new Promise((r) => setImmediate(r));
  for (let t = 0; t < 40_000; t += 500) {
    await timer.advance(500);
    await settle();
  }
  // First pass failed at 0: retry at 1 s (fails), +2 s = 3 s (fails), +4 s = 7 s (throws), +8 s = 15 s (ok), then +10 s.
  assert.deepEqual(passes, [1000, 3000, 7000, 15_000, 25_000, 35_000]);
  assert.equal(warnings.length, 4);
  loop.stop();
  await timer.advance(60_000);
  await settle();
  assert.equal(passes.length, 6);
});
