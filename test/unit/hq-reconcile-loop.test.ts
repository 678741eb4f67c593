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

test('now(): a pass at once, the next periodic one counted from it, one pass waiting at a time; its failure retried as any', async () => {
  const timer = new SimClock();
  const passes: number[] = [];
  const outcomes: Array<boolean | 'throw'> = [true, true, 'throw', true];
  const loop = new ReconcileLoop({
    intervalMs: 10_000,
    timer,
    log: { warn: () => {} } as never,
    reconcile: async (): Promise<ReconcileResult> => {
      passes.push(timer.now());
      const o = outcomes.shift() ?? true;
      if (o === 'throw') throw new Error('wg: no such device');
      return { at: String(timer.now()), ok: o, changes: [] };
    },
  });
  const settle = () => new Promise((r) => setImmediate(r));
  const run = async (ms: number) => {
    for (let t = 0; t < ms; t += 500) {
      await timer.advance(500);
      await settle();
    }
  };
  loop.start({ at: '0', ok: true, changes: [] }); // the daemon's first pass: the next due at 10 s
  await run(4000);
  assert.equal((await loop.now()).ok, true); // at 4 s: the periodic pass moves to 14 s (not 10 s and 14 s)
  await run(12_000); // to 16 s
  await assert.rejects(loop.now(), /no such device/); // at 16 s: thrown to the caller, and retried 1 s later
  await run(12_000); // to 28 s
  assert.deepEqual(passes, [4000, 14_000, 16_000, 17_000, 27_000]);
  loop.stop();
  await run(30_000);
  assert.equal(passes.length, 5, 'nothing after stop()');
});
