// LTE's redundant copies spent from its lte_budget (agent/start/copy.meter.ts): the counter's growth, read on a
// simulated clock while LTE carries copies, and once more when they leave it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimulatedClock } from 'xstate';
import { copyGrowth, startCopyMeter } from '../../agent/start/copy.meter.js';
import { createLogger } from '../../shared/log.js';

const flush = () => new Promise<void>((r) => setImmediate(r));

test('copyGrowth: the first reading is the base; a counter made anew counts whole', () => {
  const table: Array<[number | null, number, number]> = [[null, 5000, 0], [5000, 5000, 0], [5000, 8000, 3000], [8000, 1200, 1200]];
  for (const [prev, now, want] of table) assert.equal(copyGrowth(prev, now), want, `${prev} → ${now}`);
});

test('the meter: LTE\'s copies read every interval and spent; a Wi-Fi\'s not metered; one last reading when they leave LTE', async () => {
  const clock = new SimulatedClock();
  const counters: Record<string, { bytes: number }> = { wwan0: { bytes: 10_000 }, wlan1: { bytes: 50_000 } };
  const spent: Array<[string, number]> = [];
  let reads = 0;
  const m = startCopyMeter({
    read: async () => (reads++, structuredClone(counters)), spend: (u, b) => void spent.push([u, b]), clock, intervalMs: 1000,
    log: createLogger({ name: 'test', level: 'silent' }),
  });
  m.via({ name: 'wlan1', kind: 'wifi' });
  clock.increment(3000);
  await flush();
  assert.equal(reads, 0, 'a Wi-Fi\'s copies cost no budget: not read');
  m.via({ name: 'wwan0', kind: 'lte' });
  await flush();
  counters.wwan0!.bytes += 150_000;
  clock.increment(1000);
  await flush();
  counters.wwan0!.bytes += 140_000;
  clock.increment(1000);
  await flush();
  assert.deepEqual(spent, [['wwan0', 150_000], ['wwan0', 140_000]]);
  counters.wwan0!.bytes += 20_000;
  m.via({ name: 'wlan1', kind: 'wifi' });
  await flush();
  assert.deepEqual(spent.at(-1), ['wwan0', 20_000], 'the bytes since the last reading, at the end');
  const n = reads;
  clock.increment(5000);
  await flush();
  assert.equal(reads, n, 'no more readings');
  m.stop();
});
