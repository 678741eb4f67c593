// Answering before the commit (issue 14 item 5): the group commit's tickets and durable mark, the agents' API's 202 and
// GET /v1/events/durable, and the agent's shipper, which keeps every event in its journal until a durable mark covers
// it and ships again what an HQ that died (or failed its commit) between its 202 and its commit never stored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Journal, type NewSwitchEvent } from '../../agent/journal/journal.js';
import { durableOutcome, eventsOutcome } from '../../agent/ship/client.js';
import { DURABLE_GRACE_MS, Shipper, type DurableOutcome, type SendOutcome } from '../../agent/ship/shipper.js';
import { SimClock } from '../../shared/clock.js';
import { buildAgentApi } from '../../concentrator/agent-api/app.js';
import { FleetState } from '../../concentrator/agent-api/fleet.js';
import { GroupCommit } from '../../concentrator/agent-api/ingest.js';
import { gatedStore, hqProcess } from './hq-process.fixtures.test.js';
import { openEventsDb } from '../../concentrator/store/events/db.js';
import { EventStore } from '../../concentrator/store/events/service.js';
import type { TimedEvent } from '../../concentrator/store/events/schema.js';
import type { DurableMark, SwitchEvent } from '../../shared/wire/switch-event.js';
import { uuid } from './events.fixtures.test.js';

const e = (n: number): NewSwitchEvent => ({
  id: uuid(n), vehicle: 'bus-7', at: new Date(Date.UTC(2026, 10, 21, 10, 0, 0, n)).toISOString(), from: n === 1 ? null : 'wlan0', to: n % 2 ? 'wlan1' : 'wlan0', reason: 'signal',
});
const timed = (n: number): TimedEvent => ({ ...e(n), seq: n, why: null, ms_to_first_packet: null, gap_ms: null, candidates: [], site: null });

const settle = () => new Promise((r) => setImmediate(r));
/** Lets the event loop turn (at most 500 times) until `ok`; fails naming `what`. */
async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !ok(); i++) await settle();
  assert.ok(ok(), what);
}

test('group commit: the durable mark covers a ticket only once its commit is done; a failed commit begins another epoch', async () => {
  const g = gatedStore(new EventStore(openEventsDb(':memory:')));
  const gc = new GroupCommit(g.store);
  const m0 = gc.mark();
  assert.equal(m0.upto, 0);
  g.hold();
  const a = gc.accept([timed(1)])!;
  const b = gc.accept([timed(2)])!;
  assert.deepEqual([a.epoch, a.ticket, b.ticket], [m0.epoch, 1, 2]);
  await settle();
  assert.equal(gc.mark().upto, 0, 'queued and committing, not durable');
  const waiting = gc.untilDurable({ epoch: a.epoch, upto: 2 }, new AbortController().signal);
  g.held.shift()!.go();
  assert.deepEqual(await waiting, { epoch: a.epoch, upto: 2 }, 'both in one commit: the mark covers both at once');
  assert.equal((await a.committed).inserted.length, 1);

  // The next commit fails (the disk, the database): nothing of it stored, and no mark of its epoch will ever cover it.
  const c = gc.accept([timed(3)])!;
  await settle();
  const waitC = gc.untilDurable({ epoch: c.epoch, upto: c.ticket }, new AbortController().signal);
  g.held.shift()!.fail(Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' }));
  await assert.rejects(c.committed, /disk I\/O error/);
  const after = await waitC;
  assert.notEqual(after.epoch, c.epoch, 'another epoch: the ticket is lost, its agent ships it again');
  assert.equal(gc.accept([timed(4)]), null, 'while the store fails, batches are answered once stored (503 if it still fails)');
  g.pass();
  await gc.submit([timed(4)]);
  const d = gc.accept([timed(5)])!;
  assert.equal(d.epoch, after.epoch);
  await d.committed;
  assert.deepEqual(gc.mark(), { epoch: after.epoch, upto: d.ticket });
  const aborted = new AbortController();
  const p = gc.untilDurable({ epoch: d.epoch, upto: d.ticket + 5 }, aborted.signal);
  aborted.abort();
  assert.deepEqual(await p, gc.mark(), 'an abort answers the mark as it is');
});

test('group commit: a long queue is answered once stored, not before (backpressure)', async () => {
  const g = gatedStore(new EventStore(openEventsDb(':memory:')));
  g.hold();
  const gc = new GroupCommit(g.store, (fn) => setImmediate(fn), 2);
  assert.ok(gc.accept([timed(1)]));
  assert.ok(gc.accept([timed(2)]));
  assert.equal(gc.accept([timed(3)]), null, 'two events queued: the bound');
  await settle();
  assert.ok(gc.accept([timed(3)]), 'the queue went to the commit');
  g.held.shift()!.go();
  await settle();
});

test('agents\' API: 202 only when the agent asks (Prefer: respond-async); 200 once stored otherwise; the durable mark waits for the commit', async (t) => {
  const g = gatedStore(new EventStore(openEventsDb(':memory:')));
  const gc = new GroupCommit(g.store);
  const app = buildAgentApi({ identify: async () => ({ name: 'bus-7' }), ingest: (b) => gc.submit(b), durability: gc, fleet: new FleetState({ offlineAfterMs: 15_000 }) });
  t.after(() => app.close());
  const post = (n: number, prefer?: string) => app.inject({ method: 'POST', url: '/v1/events', remoteAddress: '10.99.0.2', headers: prefer ? { prefer } : {}, payload: { events: [{ ...e(n), seq: n }] } });
  const old = await post(1);
  assert.equal(old.statusCode, 200, 'an older agent: answered once stored');
  assert.deepEqual(old.json().stored, [uuid(1)]);
  assert.equal(old.json().durable.upto, 1);
  g.hold();
  const r = await post(2, 'respond-async, wait=1');
  assert.equal(r.statusCode, 202, r.body);
  const acc = r.json() as { accepted: string[]; epoch: string; ticket: number; durable: DurableMark };
  assert.deepEqual([acc.accepted, acc.ticket, acc.durable.upto], [[uuid(2)], 2, 1]);
  assert.deepEqual(eventsOutcome({ status: r.statusCode, body: r.json() }), { kind: 'accepted', accepted: [uuid(2)], ticket: { epoch: acc.epoch, upto: 2 }, durable: { epoch: acc.epoch, upto: 1 } });
  const durable = app.inject({ method: 'GET', url: `/v1/events/durable?epoch=${acc.epoch}&upto=2`, remoteAddress: '10.99.0.2' });
  await settle();
  g.held.shift()!.go();
  const d = await durable;
  assert.equal(d.statusCode, 200, d.body);
  assert.deepEqual(durableOutcome({ status: d.statusCode, body: d.json() }), { kind: 'mark', mark: { epoch: acc.epoch, upto: 2 } });
  const bad = await app.inject({ method: 'GET', url: '/v1/events/durable?epoch=x&upto=2', remoteAddress: '10.99.0.2' });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().error.field, 'epoch');
});

test('classifying HQ\'s answers: 202 needs its ids and ticket; a durable mark; an HQ without the route (404) means ship again', () => {
  const epoch = '5a0c8a52-7f0e-4a43-9d52-6f7c5a0b9c11';
  const cases: Array<{ name: string; given: { status: number; body: unknown }; want: SendOutcome | DurableOutcome; durable?: boolean }> = [
    { name: '202 whole', given: { status: 202, body: { accepted: ['a'], epoch, ticket: 7, durable: { epoch, upto: 3 } } }, want: { kind: 'accepted', accepted: ['a'], ticket: { epoch, upto: 7 }, durable: { epoch, upto: 3 } } },
    { name: '202 from an HQ that tells no mark', given: { status: 202, body: { accepted: ['a'], epoch, ticket: 7 } }, want: { kind: 'accepted', accepted: ['a'], ticket: { epoch, upto: 7 } } },
    { name: '202 with a malformed mark: taken without it', given: { status: 202, body: { accepted: ['a'], epoch, ticket: 7, durable: { epoch: 'x', upto: 3 } } }, want: { kind: 'accepted', accepted: ['a'], ticket: { epoch, upto: 7 } } },
    { name: '200 with its mark', given: { status: 200, body: { stored: ['a'], inserted: 1, duplicates: 0, durable: { epoch, upto: 8 } } }, want: { kind: 'ok', stored: ['a'], durable: { epoch, upto: 8 } } },
    { name: '200 from an older HQ', given: { status: 200, body: { stored: ['a'], inserted: 1, duplicates: 0 } }, want: { kind: 'ok', stored: ['a'] } },
    { name: '202 without a ticket', given: { status: 202, body: { accepted: ['a'], epoch } }, want: { kind: 'retry', error: 'HQ answered 202 without the accepted ids and their ticket' } },
    { name: '202 with a bad epoch', given: { status: 202, body: { accepted: ['a'], epoch: 'x', ticket: 1 } }, want: { kind: 'retry', error: 'HQ answered 202 without the accepted ids and their ticket' } },
    { name: 'mark', given: { status: 200, body: { epoch, upto: 9 } }, want: { kind: 'mark', mark: { epoch, upto: 9 } }, durable: true },
    { name: 'no such route', given: { status: 404, body: null }, want: { kind: 'mark', mark: null }, durable: true },
    { name: 'HQ failing', given: { status: 503, body: { error: { code: 'STORE_UNAVAILABLE', message: 'down' } } }, want: { kind: 'retry', error: 'HTTP 503 STORE_UNAVAILABLE: down' }, durable: true },
  ];
  for (const c of cases) assert.deepEqual(c.durable ? durableOutcome(c.given) : eventsOutcome(c.given), c.want, c.name);
});

test('HQ dies between its 202 and its commit: the journal keeps the events, the agent ships them to the next HQ, each stored once', async () => {
  const store = new EventStore(openEventsDb(':memory:'));
  const timer = new SimClock();
  const j = Journal.open(':memory:');
  let hq = hqProcess(store);
  const shipper = new Shipper({ journal: j, send: (ev) => hq.send(ev), durable: (w) => hq.durable(w), timer, random: () => 0, durableGraceMs: 0 });

  // 1 and 2: accepted, committed, confirmed durable: shipped.
  for (const n of [1, 2]) j.append(e(n));
  shipper.kick();
  await until('1 and 2 durable', () => j.backlog() === 0 && shipper.state === 'idle');
  assert.deepEqual((await store.query({ vehicle: 'bus-7' })).map((x) => x.seq), [1, 2]);

  // 3 to 5: HQ accepts them (202), then dies before its commit.
  hq.g.hold();
  for (const n of [3, 4, 5]) j.append(e(n));
  shipper.kick();
  await until('3 to 5 accepted', () => shipper.awaitingDurable === 3 && hq.g.held.length === 1);
  assert.equal(j.backlog(), 3, 'accepted is not durable: all three still in the journal');
  hq.kill();
  await until('the durable mark asked of a dead HQ fails', () => shipper.state === 'waiting');
  assert.equal(j.backlog(), 3);
  assert.equal((await store.count()), 2, 'the dead HQ stored none of them');

  // HQ comes back (a new process: another epoch). The agent learns the epoch, ships 3 to 5 again, they are stored.
  hq = hqProcess(store);
  timer.advance(60_000);
  await until('3 to 5 durable at the new HQ', () => j.backlog() === 0 && shipper.state === 'idle');
  assert.equal(hq.posts, 1, 'shipped again, once');
  assert.deepEqual((await store.query({ vehicle: 'bus-7' })).map((x) => x.seq), [1, 2, 3, 4, 5], 'each once, in order');
  await shipper.stop();
});

test('HQ fails its commit after a 202 (the disk): the agent learns it from the epoch and ships the batch again; nothing lost', async () => {
  const store = new EventStore(openEventsDb(':memory:'));
  const timer = new SimClock();
  const j = Journal.open(':memory:');
  const hq = hqProcess(store);
  const shipper = new Shipper({ journal: j, send: (ev) => hq.send(ev), durable: (w) => hq.durable(w), timer, random: () => 0, durableGraceMs: 0 });
  hq.g.hold();
  for (const n of [1, 2, 3]) j.append(e(n));
  shipper.kick();
  await until('accepted', () => shipper.awaitingDurable === 3 && hq.g.held.length === 1);
  hq.g.pass();
  hq.g.held.shift()!.fail(Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' }));
  await until('shipped again and durable', () => j.backlog() === 0 && shipper.state === 'idle');
  assert.equal(hq.posts, 2, 'the batch twice: accepted, lost, then again');
  assert.deepEqual((await store.query({ vehicle: 'bus-7' })).map((x) => x.seq), [1, 2, 3]);
  await shipper.stop();
});

test('the mark carried in answers: a busy agent learns it from its next batch\'s answer and an idle one from its heartbeat, without a GET; the GET only after the grace', async () => {
  const store = new EventStore(openEventsDb(':memory:'));
  const timer = new SimClock();
  const j = Journal.open(':memory:');
  const hq = hqProcess(store);
  const shipper = new Shipper({ journal: j, send: (ev) => hq.send(ev), durable: (w) => hq.durable(w), timer, random: () => 0 });

  // 1: answered 202; nothing else to send, so the shipper waits (the grace) rather than asking; HQ commits meanwhile.
  j.append(e(1));
  shipper.kick();
  await until('1 accepted, waiting for a mark', () => shipper.awaitingDurable === 1 && shipper.state === 'waiting');
  await until('1 committed', () => hq.gc.mark().upto === 1);
  assert.equal(j.backlog(), 1, 'accepted, not yet known durable: still in the journal');

  // 2: its answer carries the mark, which covers 1: 1 is shipped, 2 waits.
  j.append(e(2));
  shipper.kick();
  await until('1 shipped by the answer to 2', () => j.backlog() === 1 && shipper.awaitingDurable === 1 && shipper.state === 'waiting');
  await until('2 committed', () => hq.gc.mark().upto === 2);

  // The heartbeat's answer carries the mark too: 2 is shipped, and the shipper goes idle.
  const hb = await hq.heartbeat();
  shipper.observe(hb as DurableMark);
  await until('2 shipped by the heartbeat', () => j.backlog() === 0 && shipper.state === 'idle');
  assert.deepEqual([hq.posts, hq.gets], [2, 0], 'two POSTs, no GET');
  assert.deepEqual(timer.delays(), [], 'no timer left');

  // An agent with nothing else to send and no heartbeat in time asks, once the grace is over.
  j.append(e(3));
  shipper.kick();
  await until('3 accepted', () => shipper.awaitingDurable === 1 && shipper.state === 'waiting');
  assert.deepEqual(timer.delays(), [DURABLE_GRACE_MS]);
  timer.advance(DURABLE_GRACE_MS - 1);
  await settle();
  assert.equal(hq.gets, 0, 'not before the grace is over');
  timer.advance(1);
  await until('3 shipped by the GET', () => j.backlog() === 0 && shipper.state === 'idle');
  assert.equal(hq.gets, 1);
  assert.deepEqual((await store.query({ vehicle: 'bus-7' })).map((x) => x.seq), [1, 2, 3]);
  await shipper.stop();
});

test('an HQ restart between its 202 and its commit: the next answer\'s mark is of another epoch, so the agent ships the batch again without a GET; each stored once', async () => {
  const store = new EventStore(openEventsDb(':memory:'));
  const timer = new SimClock();
  const j = Journal.open(':memory:');
  let hq = hqProcess(store);
  const shipper = new Shipper({ journal: j, send: (ev) => hq.send(ev), durable: (w) => hq.durable(w), timer, random: () => 0 });
  hq.g.hold();
  for (const n of [1, 2, 3]) j.append(e(n));
  shipper.kick();
  await until('1 to 3 accepted', () => shipper.awaitingDurable === 3 && hq.g.held.length === 1);
  hq.kill();
  const dead = hq;
  hq = hqProcess(store);
  // A new switch: its batch goes to the new HQ, whose answer tells the new epoch: 1 to 3 are shipped again.
  j.append(e(4));
  shipper.kick();
  await until('4, then 1 to 3, accepted by the new HQ', () => hq.posts === 2 && shipper.state === 'waiting');
  await until('the new HQ committed them', () => hq.gc.mark().upto === 2);
  shipper.observe((await hq.heartbeat()) as DurableMark);
  await until('all durable', () => j.backlog() === 0 && shipper.state === 'idle');
  assert.deepEqual([dead.gets, hq.gets], [0, 0], 'no GET: the marks came in answers');
  assert.deepEqual((await store.query({ vehicle: 'bus-7' })).map((x) => x.seq), [1, 2, 3, 4], 'each once');
  await shipper.stop();
});

test('an old agent (no Prefer header) still gets 200 once stored, and the heartbeat\'s answer carries the mark', async (t) => {
  const gc = new GroupCommit(new EventStore(openEventsDb(':memory:')));
  const app = buildAgentApi({ identify: async () => ({ name: 'bus-7' }), ingest: (b) => gc.submit(b), durability: gc, fleet: new FleetState({ offlineAfterMs: 15_000 }) });
  t.after(() => app.close());
  const r = await app.inject({ method: 'POST', url: '/v1/events', remoteAddress: '10.99.0.2', payload: { events: [{ ...e(1), seq: 1 }] } });
  assert.equal(r.statusCode, 200, r.body);
  assert.deepEqual(r.json().stored, [uuid(1)]);
  const hb = await app.inject({ method: 'POST', url: '/v1/heartbeat', remoteAddress: '10.99.0.2', payload: { vehicle: 'bus-7', at: '2026-11-21T10:00:00Z', active: null, uplinks: [] } });
  assert.equal(hb.statusCode, 200, hb.body);
  assert.deepEqual(hb.json().durable, gc.mark());
  assert.equal(hb.json().durable.upto, 1);
});
