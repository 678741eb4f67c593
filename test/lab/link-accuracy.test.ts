// The link emulator's accuracy (issue 13, item 4): over one emulated link, the median delay, the jitter, the loss and
// the rate measured are what was asked, within tolerances; nothing of the test bed is left after it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REALISTIC_LINK, IDEAL_LINK } from '../../shared/link.js';
import { LinkTestbed } from '../../lab/link/testbed.js';
import { labLeftovers } from './lab.helpers.js';

test('asked against measured: LTE realistic, 10 ms with 10 % loss, and 1 Mbit/s over one link', { timeout: 90_000 }, async () => {
  const tb = new LinkTestbed();
  const relays: number[] = [];
  try {
    await tb.up();
    if (tb.link?.pid !== undefined) relays.push(tb.link.pid);
    // 3,000 packets at 1,000/s each. A loaded machine stalls a few (p99 up to ~100 ms, 2026-12), so medians and the
    // 16th-84th percentile spread, not the mean and max.
    //
    // First a fixed delay, which shows the relay's own lateness now: its timers fire up to ~1 ms late and the meters'
    // clocks agree to ~0.5 ms (bench/links: 10.13 ms median, 0.54 ms jitter, medians of 5 runs, 2026-12-03). A loaded
    // machine makes it later, for every packet alike (with the unit suite beside it: 11.38 ms and 1.57 ms; in one run
    // under other helpers' lab runs LTE's whole distribution came 5 ms late, 1st percentile 16 ms), so the LTE link
    // below is judged net of the lateness measured here, and this one only for gross errors.
    const fixed = await tb.measure({ ...IDEAL_LINK, delay_ms: 10, loss: 0.1 }, 1000, 3000);
    const l = JSON.stringify(fixed);
    // 10 % of 3,000: 300 expected, standard deviation 16.4: 4 of them below. Above, more room: a loaded machine loses
    // a few datagrams outside the emulator too (12.27 % once, at load 11 with stalls of 120 ms, 2026-12-03).
    assert.ok(fixed.loss >= 0.078 && fixed.loss <= 0.14, `loss ${fixed.loss}, asked 0.1: ${l}`);
    assert.ok(fixed.delay.p50 >= 9 && fixed.delay.p50 <= 20, `median delay ${fixed.delay.p50} ms, asked 10: ${l}`);
    assert.ok(fixed.delay.p1 >= 9, `a packet left early: 1st percentile ${fixed.delay.p1} ms: ${l}`);
    const late = fixed.delay.p50 - 10;
    const ownJitter = fixed.delay.jitter;

    // The delay wanders with a new target every 64 ms (8 × the jitter), so 3 s hold only ~47 independent targets:
    // one run's median is 25 ms ± ~1.2 ms (one standard error). ±4 ms is ~3 of them.
    const lte = await tb.measure(REALISTIC_LINK.lte, 1000, 3000);
    const d = `${JSON.stringify(lte)}; the relay's own lateness ${late.toFixed(2)} ms, jitter ${ownJitter.toFixed(2)} ms`;
    assert.ok(Math.abs(lte.delay.p50 - late - 25) <= 4, `median delay ${lte.delay.p50} ms, asked 25: ${d}`);
    const jitter = Math.sqrt(Math.max(0, lte.delay.jitter ** 2 - ownJitter ** 2));
    assert.ok(jitter >= 8 * 0.6 && jitter <= 8 * 1.5, `jitter ${jitter} ms net of the relay's own, asked 8: ${d}`);
    // 1 % of 3,000: 30 expected, standard deviation 5.4; stalls lose nothing (the queues are bounded at 20,000).
    assert.ok(lte.loss >= 0.003 && lte.loss <= 0.03, `loss ${lte.loss}, asked 0.01: ${d}`);
    assert.equal(lte.reordered, 0, `packets keep their order: ${d}`);

    // 2,000 frames of 142 bytes a second (2.27 Mbit/s) offered to a 1 Mbit/s link.
    const slow = await tb.measure({ ...IDEAL_LINK, rate_mbit: 1 }, 2000, 3000);
    assert.ok(Math.abs(slow.rate_mbit - 1) <= 0.1, `rate ${slow.rate_mbit} Mbit/s, asked 1: ${JSON.stringify(slow)}`);
  } finally {
    await tb.down();
  }
  assert.deepEqual(await labLeftovers(), []);
  for (const pid of relays) assert.throws(() => process.kill(pid, 0), `the relay ${pid} outlived the test bed`);
});
