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
import { DEFAULT_POLICY } from '../../shared/policy.js';
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

test('switchEventFrom: the why is what the decision saw (rule, line, site, thresholds, every candidate); out-of-range values become null', () => {
  const policy = { ...DEFAULT_POLICY, switch_below: -72 };
  const rec: SwitchRecord = {
    id: uuid(7), from: 'wlan0', to: 'wlan1', reason: 'signal', decided_at: Date.UTC(2026, 10, 21, 10, 0, 0, 250), steered_at: 0, confirmed_at: 0, ms_to_first_packet: 3.25,
    candidates: [
      { name: 'wlan0', kind: 'wifi', phase: 'ready', ready: true, rttMs: 12, misses: 0, carrier: true, signal: -81, ap: { ssid: 'depot', bssid: '02:00:00:00:00:01' } },
      { name: 'wlan1', kind: 'wifi', phase: 'ready', ready: true, rttMs: 9, misses: 0, carrier: true, signal: -60, ap: { ssid: 'street-7', bssid: '02:00:00:00:00:02' } },
      { name: 'wwan0', kind: 'lte', phase: 'probing', ready: false, rttMs: Infinity, misses: 2, carrier: true },
    ],
    why: {
      rule: 'signal', text: 'wlan0 -81 dBm below -72 dBm for 1.2 s → wlan1', at: 5000, active: 'wlan0',
      candidates: [
        { name: 'wlan0', kind: 'wifi', state: 'active', signal: -81, rtt_ms: 12.345, loss: 0.1, ready: true, carrier: true, active: true, usable: true, ssid: 'depot', bssid: '02:00:00:00:00:01' },
        { name: 'wlan1', kind: 'wifi', state: 'standby', signal: -60, rtt_ms: 9, loss: 0, ready: true, carrier: true, active: false, usable: true, ssid: 'street-7', bssid: '02:00:00:00:00:02' },
        { name: 'wwan0', kind: 'lte', state: 'probing', signal: 7, rtt_ms: Infinity, loss: 0.5, ready: false, carrier: true, active: false, usable: false },
      ],
    },
    site: 'depot', policy, operator: false,
  };
  const ev = switchEventFrom(rec, { vehicle: 'bus-7', site: 'elsewhere' });
  assert.deepEqual(ev, {
    id: uuid(7), vehicle: 'bus-7', at: '2026-11-21T10:00:00.250Z', from: 'wlan0', to: 'wlan1', reason: 'signal',
    why: {
      rule: 'signal', text: 'wlan0 -81 dBm below -72 dBm for 1.2 s → wlan1', operator: false, site: 'depot', policy,
      candidates: [
        { name: 'wlan0', kind: 'wifi', phase: 'ready', state: 'active', signal: -81, rtt_ms: 12.35, loss: 0.1, ready: true, carrier: true, active: true, usable: true, ap: { ssid: 'depot', bssid: '02:00:00:00:00:01' } },
        { name: 'wlan1', kind: 'wifi', phase: 'ready', state: 'standby', signal: -60, rtt_ms: 9, loss: 0, ready: true, carrier: true, active: false, usable: true, ap: { ssid: 'street-7', bssid: '02:00:00:00:00:02' } },
        { name: 'wwan0', kind: 'lte', phase: 'probing', state: 'probing', signal: null, rtt_ms: null, loss: 0.5, ready: false, carrier: true, active: false, usable: false, ap: null },
      ],
    },
    ms_to_first_packet: 3.25, gap_ms: null, site: 'depot',
    candidates: [
      { name: 'wlan0', phase: 'ready', ready: true, signal: -81, rtt_ms: 12.35, loss: 0.1, score: null },
      { name: 'wlan1', phase: 'ready', ready: true, signal: -60, rtt_ms: 9, loss: 0, score: null },
      { name: 'wwan0', phase: 'probing', ready: false, signal: null, rtt_ms: null, loss: 0.5, score: null },
    ],
  });
  const j = Journal.open(':memory:');
  const stored = j.append(ev);
  assert.equal(stored.invalid, undefined);
  assert.deepEqual(stored.event.why, ev.why, 'journaled whole');
  // A record without a why (an older arbiter) ships without one; the site of the AP in use stands in.
  const bare = switchEventFrom({ ...rec, why: undefined, site: undefined }, { vehicle: 'bus-7', site: 'elsewhere' });
  assert.deepEqual([bare.why, bare.site, bare.candidates?.[0]?.signal], [null, 'elsewhere', -81]);
});
