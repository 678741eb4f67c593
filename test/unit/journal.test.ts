// The agent's switch journal: seq per vehicle, unshipped/markShipped, invalid events kept aside, and durability across
// a reopen and across a process killed right after append() returned.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Journal, type NewSwitchEvent } from '../../agent/journal/journal.js';
import { switchEventFrom } from '../../agent/journal/record.js';
import type { SwitchRecord } from '../../agent/machines/arbiter.machine.js';
import { uuid } from './events.fixtures.test.js';

const e = (n: number, over: Partial<NewSwitchEvent> = {}): NewSwitchEvent => ({
  id: uuid(n), vehicle: 'bus-7', at: new Date(Date.UTC(2026, 10, 21, 10, 0, n)).toISOString(), from: 'wlan0', to: 'wlan1', reason: 'signal', ...over,
});

function tmp(t: { after: (fn: () => void) => void }) {
  const dir = mkdtempSync(join(tmpdir(), 'rl-journal-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'state', 'journal.sqlite');
}

test('append: seq 1, 2, 3 in order; the same id again is the same event, no new row', () => {
  const j = Journal.open(':memory:');
  assert.deepEqual([1, 2, 3].map((n) => j.append(e(n)).event.seq), [1, 2, 3]);
  const again = j.append(e(2, { to: 'wwan0' }));
  assert.equal(again.event.seq, 2);
  assert.equal(again.event.to, 'wlan1');
  assert.equal(j.backlog(), 3);
  assert.deepEqual(j.unshipped(2).map((x) => x.seq), [1, 2]);
  const first = j.unshipped(1)[0]!;
  assert.deepEqual(first, { ...e(1), seq: 1, why: null, ms_to_first_packet: null, gap_ms: null, candidates: [], site: null });
});

test('markShipped: shipped events leave unshipped(); unknown ids ignored; prune keeps unshipped ones', () => {
  const j = Journal.open(':memory:');
  for (const n of [1, 2, 3, 4]) j.append(e(n));
  assert.equal(j.markShipped([uuid(1), uuid(3), uuid(99)], 1000), 2);
  assert.equal(j.markShipped([uuid(1)], 1000), 0);
  assert.deepEqual(j.unshipped(10).map((x) => x.seq), [2, 4]);
  assert.equal(j.prune(2000), 2);
  assert.deepEqual(j.all().map((x) => [x.seq, x.shipped]), [[2, false], [4, false]]);
  // seq never goes back, even after the highest one was pruned.
  j.markShipped([uuid(4)], 1000);
  j.prune(2000);
  assert.equal(j.append(e(5)).event.seq, 5);
});

test('an event HQ would refuse is kept aside (never lost, never shipped)', () => {
  const j = Journal.open(':memory:');
  const r = j.append(e(1, { reason: 'Weird Reason' as never }));
  assert.equal(r.invalid?.field, 'reason');
  j.append(e(2));
  assert.deepEqual(j.unshipped(10).map((x) => x.seq), [2]);
  assert.equal(j.rejected().length, 1);
  assert.match(j.rejected()[0]!.why, /^invalid: reason: /);
  j.markRejected(uuid(2), 'refused by HQ: to: bad');
  assert.equal(j.backlog(), 0);
});

test('durable across reopen: unshipped events and seq survive', (t) => {
  const path = tmp(t);
  let j = Journal.open(path);
  j.append(e(1));
  j.append(e(2));
  j.markShipped([uuid(1)]);
  j.close();
  j = Journal.open(path);
  assert.deepEqual(j.unshipped(10).map((x) => x.seq), [2]);
  assert.equal(j.append(e(3)).event.seq, 3);
  j.close();
});

test('durable across a crash: a process killed right after append() returned loses nothing', (t) => {
  const path = tmp(t);
  const mod = fileURLToPath(new URL('../../agent/journal/journal.js', import.meta.url));
  const script = `
    const { Journal } = await import(${JSON.stringify(mod)});
    const j = Journal.open(${JSON.stringify(path)});
    for (let n = 1; n <= 50; n++) j.append({ id: '00000000-0000-4000-8000-' + n.toString(16).padStart(12, '0'), vehicle: 'bus-7', at: new Date().toISOString(), from: null, to: 'wlan0', reason: 'initial' });
    process.kill(process.pid, 'SIGKILL');`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script]);
  assert.equal(r.signal, 'SIGKILL', r.stderr.toString());
  const j = Journal.open(path);
  assert.equal(j.backlog(), 50);
  assert.deepEqual(j.unshipped(100).map((x) => x.seq), Array.from({ length: 50 }, (_, i) => i + 1));
  j.close();
});

test('switchEventFrom: the arbiter record with signals and loss; out-of-range values become null', () => {
  const rec: SwitchRecord = {
    id: uuid(7), from: 'wlan0', to: 'wlan1', reason: 'signal', decided_at: Date.UTC(2026, 10, 21, 10, 0, 0, 250), steered_at: 0, confirmed_at: 0, ms_to_first_packet: 3.25,
    candidates: [
      { name: 'wlan0', phase: 'ready', ready: true, rttMs: 12, misses: 0, carrier: true },
      { name: 'wwan0', phase: 'ready', ready: true, rttMs: Infinity, misses: 2, carrier: true },
    ],
  };
  const ev = switchEventFrom(rec, { vehicle: 'bus-7', site: 'depot', signalOf: (n) => (n === 'wlan0' ? -81 : 7), lossOf: () => 0.1, why: 'wlan0 below -75 dBm for 1 s' });
  assert.deepEqual(ev, {
    id: uuid(7), vehicle: 'bus-7', at: '2026-11-21T10:00:00.250Z', from: 'wlan0', to: 'wlan1', reason: 'signal', why: 'wlan0 below -75 dBm for 1 s',
    ms_to_first_packet: 3.25, gap_ms: null, site: 'depot',
    candidates: [
      { name: 'wlan0', phase: 'ready', ready: true, signal: -81, rtt_ms: 12, loss: 0.1, score: null },
      { name: 'wwan0', phase: 'ready', ready: true, signal: null, rtt_ms: null, loss: 0.1, score: null },
    ],
  });
  const j = Journal.open(':memory:');
  assert.equal(j.append(ev).invalid, undefined);
});
