// The agent's switch journal: seq per vehicle, unshipped/markShipped, invalid events kept aside, and durability across
// a reopen and across a process killed right after append() returned.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { fileURLToPath } from 'node:url';
import { Journal, SEQ_BLOCK, type NewSwitchEvent } from '../../agent/journal/journal.js';
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

test('intent: journaled before the steering, not shipped; its completion is the same row and seq, then shipped once', () => {
  const j = Journal.open(':memory:');
  j.append(e(1));
  assert.equal(j.intend(e(2, { ms_to_first_packet: null })).event.seq, 2);
  assert.equal(j.backlog(), 1, 'an intent waits for its completion');
  assert.deepEqual(j.unshipped(10).map((x) => x.seq), [1]);
  assert.deepEqual(j.intents().map((x) => x.id), [uuid(2)]);
  // The intent again (a retried write) changes nothing.
  assert.equal(j.intend(e(2, { to: 'wwan0' })).event.to, 'wlan1');
  const done = j.append(e(2, { ms_to_first_packet: 12.5 }));
  assert.deepEqual([done.event.seq, done.event.ms_to_first_packet], [2, 12.5]);
  assert.deepEqual(j.intents(), []);
  assert.deepEqual(j.unshipped(10).map((x) => [x.seq, x.ms_to_first_packet]), [[1, null], [2, 12.5]]);
  // Completed twice (the confirmation, then a restart settling it): still one row, the confirmation's.
  assert.equal(j.complete(uuid(2)), false);
  assert.equal(j.append(e(2, { ms_to_first_packet: 99 })).event.ms_to_first_packet, 12.5);
  assert.equal(j.all().length, 2);
});

test('intent left open: complete() ships it as journaled (its why); abandon() keeps it aside with why, never shipped', () => {
  const j = Journal.open(':memory:');
  const why = { rule: 'forced', text: 'operator asked for wlan1 → wlan1', operator: true, site: null, policy: null, candidates: [] };
  j.intend(e(1, { why }));
  j.intend(e(2));
  assert.equal(j.complete(uuid(1)), true);
  assert.equal(j.abandon(uuid(2), 'never took effect'), true);
  assert.equal(j.abandon(uuid(1), 'too late'), false, 'a completed switch is not abandoned');
  assert.deepEqual(j.unshipped(10).map((x) => [x.id, x.why?.text]), [[uuid(1), 'operator asked for wlan1 → wlan1']]);
  assert.deepEqual(j.all().map((x) => [x.seq, x.phase]), [[1, 'done'], [2, 'abandoned']]);
  assert.deepEqual(j.intents(), []);
});

test('a journal written before intents (no phase column) opens as it was: every row a done switch, still shipped', (t) => {
  const path = tmp(t);
  mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.exec(`CREATE TABLE journal (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, body TEXT NOT NULL, shipped_at INTEGER, rejected TEXT);
    CREATE INDEX journal_unshipped ON journal(seq) WHERE shipped_at IS NULL AND rejected IS NULL;`);
  const { id, ...body } = e(1);
  db.prepare('INSERT INTO journal (id, body) VALUES (?, ?)').run(id, JSON.stringify({ id, ...body }));
  db.close();
  const j = Journal.open(path);
  assert.deepEqual(j.unshipped(10).map((x) => [x.seq, x.id]), [[1, uuid(1)]]);
  assert.equal(j.append(e(2)).event.seq, 2);
  j.close();
});

test('a journal.sqlite SQLite cannot read (garbage, truncated) is kept aside as .corrupt-<time>, a fresh one opened, the file named', (t) => {
  for (const [name, spoil] of [
    ['garbage bytes', (p: string) => writeFileSync(p, Buffer.from('this is not a database, it is a shopping list\n'.repeat(200)))],
    ['truncated to half', (p: string) => truncateSync(p, Math.floor(statSync(p).size / 2))],
    ['header overwritten', (p: string) => {
      const b = readFileSync(p);
      b.fill(0x41, 0, 100);
      writeFileSync(p, b);
    }],
  ] as const) {
    const path = tmp(t);
    const j0 = Journal.open(path);
    for (let n = 1; n <= 300; n++) j0.append(e(n, { why: { rule: 'signal', text: 'x'.repeat(200), operator: false, site: null, policy: null, candidates: [] } }));
    j0.close();
    spoil(path);
    const before = readFileSync(path);
    const told: Array<{ path: string; movedTo: string; why: string }> = [];
    const j = Journal.open(path, { wallNow: () => Date.UTC(2026, 11, 3, 9, 30) }, (s) => told.push(s));
    assert.equal(told.length, 1, name);
    assert.equal(told[0]!.path, path, name);
    assert.equal(told[0]!.movedTo, `${path}.corrupt-2026-12-03T09-30-00-000Z`, name);
    assert.ok(told[0]!.why.length > 0, name);
    assert.deepEqual(readFileSync(told[0]!.movedTo), before, `${name}: the bad file kept as it was`);
    assert.equal(j.backlog(), 0, name);
    assert.equal(j.append(e(1)).event.seq, SEQ_BLOCK + 1, `${name}: a fresh journal, its seq above the 300 the old one handed out`);
    j.close();
  }
});

test('a writer killed mid-batch (SIGKILL from outside, no warning): every append it acknowledged is there after reopen', async (t) => {
  const path = tmp(t);
  const mod = fileURLToPath(new URL('../../agent/journal/journal.js', import.meta.url));
  // The child appends as fast as it can and prints each id once append() has returned; the parent kills it after 200.
  const script = `
    const { Journal } = await import(${JSON.stringify(mod)});
    const j = Journal.open(${JSON.stringify(path)});
    for (let n = 1; n <= 100000; n++) {
      const id = '00000000-0000-4000-8000-' + n.toString(16).padStart(12, '0');
      if (n % 2) j.intend({ id, vehicle: 'bus-7', at: new Date().toISOString(), from: 'wlan0', to: 'wlan1', reason: 'signal' });
      j.append({ id, vehicle: 'bus-7', at: new Date().toISOString(), from: 'wlan0', to: 'wlan1', reason: 'signal' });
      process.stdout.write(id + '\\n');
    }`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  const acked: string[] = [];
  let buf = '';
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, sig) => resolve(sig)));
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop()!;
    acked.push(...lines);
    if (acked.length >= 200 && !child.killed) child.kill('SIGKILL');
  });
  const sig = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000).unref())]);
  if (sig === 'timeout') child.kill('SIGKILL');
  assert.equal(sig, 'SIGKILL');
  assert.ok(acked.length >= 200 && acked.length < 100000, `killed mid-batch after ${acked.length}`);
  const j = Journal.open(path, undefined, () => assert.fail('the journal was set aside: a kill must not corrupt it'));
  const stored = j.all();
  const ids = new Set(stored.map((x) => x.id));
  assert.deepEqual(acked.filter((id) => !ids.has(id)), [], 'every acknowledged append survived');
  // Nothing half-written: each row is an intent or a whole event, seqs strictly increasing.
  assert.ok(stored.every((x, i) => i === 0 || x.seq! > stored[i - 1]!.seq!));
  assert.ok(stored.filter((x) => acked.includes(x.id)).every((x) => x.phase === 'done'));
  j.close();
});

test('seq survives the journal: reserved a block ahead in <journal>.seq, a lost journal goes on above it; HQ\'s order holds', (t) => {
  const path = tmp(t);
  const j = Journal.open(path);
  const seqs = Array.from({ length: SEQ_BLOCK + 2 }, (_, i) => j.append(e(i + 1)).event.seq);
  assert.deepEqual([seqs[0], seqs.at(-1)], [1, SEQ_BLOCK + 2], 'in order, one by one');
  // Written before seq 1 and before seq SEQ_BLOCK + 1 were handed out: twice for SEQ_BLOCK + 2 switches.
  assert.deepEqual(JSON.parse(readFileSync(`${path}.seq`, 'utf8')), { version: 1, reserved: 2 * SEQ_BLOCK });
  j.close();
  // Reopened intact: nothing skipped.
  const again = Journal.open(path);
  assert.equal(again.append(e(5000)).event.seq, SEQ_BLOCK + 3);
  again.close();
  // The journal lost (deleted with its WAL): the next switch sorts after every one HQ may hold.
  for (const side of ['', '-wal', '-shm']) rmSync(path + side, { force: true });
  const fresh = Journal.open(path);
  const next = fresh.append(e(5001)).event.seq;
  assert.equal(next, 2 * SEQ_BLOCK + 1);
  assert.ok(next > SEQ_BLOCK + 3);
  fresh.close();
  // A floor file that cannot be read counts as none: the journal alone decides, as before.
  writeFileSync(`${path}.seq`, '{"version":1,"reser');
  const stillThere = Journal.open(path);
  assert.equal(stillThere.append(e(5002)).event.seq, 2 * SEQ_BLOCK + 2, 'the journal\'s own sequence goes on');
  stillThere.close();
});
