// The meters' clock: mono tied to wall at a millisecond edge, a process descheduled at the edge included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wallOrigin, type Clocks } from '../../lab/meter/clock.js';

/** True epoch of mono's 0; each read takes 0.5 µs; `stallAt(n)` ms pass before the n-th wall read (descheduled). */
function simulated(epochOfZero: number, stallAt: (n: number) => number = () => 0): Clocks & { reads: () => number } {
  let t = 0.123;
  let wallReads = 0;
  return {
    mono: () => (t += 0.0005),
    wall: () => {
      t += stallAt(++wallReads);
      t += 0.0005;
      return Math.floor(epochOfZero + t);
    },
    reads: () => wallReads,
  };
}

test('wallOrigin: an undisturbed process ties the clocks within a few µs of the truth, at the first edge', () => {
  const truth = 1_796_000_000_000.37;
  const c = simulated(truth);
  const o = wallOrigin(c);
  assert.ok(Math.abs(o.origin - truth) < 0.005, `${o.origin - truth}`);
  assert.equal(o.edges, 1);
  assert.ok(o.widthMs <= 0.005);
  assert.ok(c.reads() < 3000, 'about a ms of spinning');
});

test('wallOrigin: descheduled 4.4 ms right at the first edge, the origin is still right (taken at that edge alone, 2.2 ms off)', () => {
  const truth = 1_796_000_000_000.37;
  // The wall clock turns at t = 0.63 (about the 340th wall read); the 100th read is descheduled for 4.4 ms, so it
  // sees the wall clock 5 ms on while the mono read just before it is from before the stall.
  let stalled = false;
  const stallOnce = (n: number) => {
    if (!stalled && n === 100) {
      stalled = true;
      return 4.4;
    }
    return 0;
  };
  const firstOnly = wallOrigin(simulated(truth, stallOnce), 0.05, 1);
  assert.ok(firstOnly.origin - truth > 2, `one edge, stalled: ${firstOnly.origin - truth} ms`);
  assert.ok(firstOnly.widthMs > 4);
  stalled = false;
  const o = wallOrigin(simulated(truth, stallOnce));
  assert.ok(Math.abs(o.origin - truth) < 0.005, `${o.origin - truth}`);
  assert.equal(o.edges, 2, 'the stalled edge is passed over for the next');
});

test('wallOrigin: stalled at every edge, the narrowest is kept and its width says how sure it is', () => {
  const truth = 1_796_000_000_000.5;
  // Every 2,000th wall read (about once a ms) is descheduled for 0.3 to 2.3 ms, never tight.
  const widths = [2.3, 0.3, 1.7, 0.9, 2.0, 1.1, 0.6, 1.4];
  const c = simulated(truth, (n) => (n % 2000 === 0 ? widths[(n / 2000) % widths.length]! : 0));
  const o = wallOrigin(c);
  assert.ok(o.widthMs < 2.5);
  assert.ok(Math.abs(o.origin - truth) <= o.widthMs / 2 + 0.005, JSON.stringify({ err: o.origin - truth, ...o }));
  assert.ok(o.edges <= 8);
});
