// The switch log store: idempotent ingest by id (across reopen), all-or-nothing batches, group commit, filters, retention.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEventsDb } from '../../concentrator/store/events/db.js';
import { EventStore } from '../../concentrator/store/events/service.js';
import { blobToUuid, uuidToBlob } from '../../concentrator/store/events/schema.js';
import { GroupCommit } from '../../concentrator/agent-api/ingest.js';
import type { SwitchEvent } from '../../shared/wire/switch-event.js';

import { T0, ev } from './events.fixtures.test.js';

test('uuid <-> 16-byte blob round trip', async () => {
  const id = '6f1c1a52-3f0e-4d7a-9a51-0c3f3c7f2a11';
  assert.equal(uuidToBlob(id).length, 16);
  assert.equal(blobToUuid(uuidToBlob(id)), id);
});

test('ingest: new events stored once; a resent batch is all duplicates; stored fields round-trip', async () => {
  const store = new EventStore(openEventsDb(':memory:'), { now: () => T0 + 99_000 });
  const batch = [ev(1), ev(2), ev(3)];
  let r = (await store.ingest(batch));
  assert.equal(r.inserted.length, 3);
  assert.equal(r.duplicates, 0);
  r = (await store.ingest([ev(2), ev(3), ev(4)]));
  assert.deepEqual(r.inserted.map((e) => e.seq), [4]);
  assert.equal(r.duplicates, 2);
  assert.equal((await store.count()), 4);
  const [first] = (await store.query({ limit: 1 }));
  assert.deepEqual(
    { ...first, rowid: undefined, received_at: undefined },
    { ...ev(1), rowid: undefined, received_at: undefined, vehicle_at: ev(1).at, time_quality: 'unchecked', clock_offset_ms: null },
  );
  assert.equal(first!.received_at, new Date(T0 + 99_000).toISOString());
});

test('ingest survives a reopen of the file: the same ids are still duplicates', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rl-events-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'switchlog.sqlite');
  let db = openEventsDb(path);
  await new EventStore(db).ingest([ev(1), ev(2)]);
  db.close();
  db = openEventsDb(path);
  const store = new EventStore(db);
  const r = (await store.ingest([ev(1), ev(2), ev(3)]));
  assert.equal(r.inserted.length, 1);
  assert.deepEqual((await store.query()).map((e) => e.seq), [1, 2, 3]);
  db.close();
  assert.equal(openEventsDb(join(dir, 'absent.sqlite'), { mustExist: true }), null);
});

test('a batch that fails half-way stores nothing', async () => {
  const db = openEventsDb(':memory:');
  const store = new EventStore(db);
  const broken = { ...ev(2), to: null } as unknown as SwitchEvent; // NOT NULL fails after ev(1) was inserted
  await assert.rejects(async () => (await store.ingest([ev(1), broken])));
  assert.equal((await store.count()), 0);
});

test('group commit: concurrent submissions share one transaction; a failure rejects them all', async () => {
  const store = new EventStore(openEventsDb(':memory:'));
  let calls = 0;
  const counting = { ingestMany: async (b: ReadonlyArray<readonly SwitchEvent[]>) => (calls++, (await store.ingestMany(b))) };
  const gc = new GroupCommit(counting);
  const rs = await Promise.all([gc.submit([ev(1)]), gc.submit([ev(2), ev(1)]), gc.submit([ev(3)])]);
  assert.equal(calls, 1);
  assert.deepEqual(rs.map((r) => [r.inserted.length, r.duplicates]), [[1, 0], [1, 1], [1, 0]]);
  const failing = new GroupCommit({ ingestMany: async () => { throw new Error('disk full'); } });
  const out = await Promise.allSettled([failing.submit([ev(4)]), failing.submit([ev(5)])]);
  assert.deepEqual(out.map((o) => o.status), ['rejected', 'rejected']);
});

test('group commit: one commit at a time; batches submitted while it runs share the next one', async () => {
  const store = new EventStore(openEventsDb(':memory:'));
  const commits: number[] = [];
  let open = 0;
  let most = 0;
  let release: (() => void) | null = null;
  // A slow store (PostgreSQL's commit is a round trip and an fsync): each commit waits until released.
  const slow = {
    ingestMany: async (b: ReadonlyArray<readonly SwitchEvent[]>) => {
      open++;
      most = Math.max(most, open);
      commits.push(b.length);
      await new Promise<void>((r) => (release = r));
      open--;
      return store.ingestMany(b);
    },
  };
  const gc = new GroupCommit(slow);
  const first = gc.submit([ev(1)]);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(commits, [1], 'the first batch is being committed');
  // Three more arrive, on separate turns of the loop, while it runs.
  const later: Array<Promise<unknown>> = [];
  for (const n of [2, 3, 4]) {
    later.push(gc.submit([ev(n)]));
    await new Promise((r) => setImmediate(r));
  }
  assert.deepEqual(commits, [1], 'no second commit while the first runs');
  release!();
  await first;
  for (let i = 0; i < 10 && commits.length < 2; i++) await new Promise((r) => setImmediate(r));
  assert.deepEqual(commits, [1, 3], 'the three waiting share the next commit');
  release!();
  await Promise.all(later);
  assert.equal(most, 1);
  assert.equal(await store.count(), 4);
});

test('query: filters by vehicle, site, uplink (from or to), reason, since/until; order; cursors', async () => {
  const store = new EventStore(openEventsDb(':memory:'));
  (await store.ingest([ev(1, { site: 'depot' }), ev(2, { site: 'depot' }), ev(3), ev(4, { vehicle: 'van-2', seq: 1 }), ev(5)]));
  const seqs = async (f: Parameters<EventStore['query']>[0]) => (await store.query(f)).map((e) => `${e.vehicle}#${e.seq}`);
  assert.deepEqual(await seqs({}), ['bus-7#1', 'bus-7#2', 'bus-7#3', 'van-2#1', 'bus-7#5']);
  assert.deepEqual(await seqs({ vehicle: 'bus-7' }), ['bus-7#1', 'bus-7#2', 'bus-7#3', 'bus-7#5']);
  assert.deepEqual(await seqs({ site: 'depot' }), ['bus-7#1', 'bus-7#2']);
  assert.deepEqual(await seqs({ uplink: 'wwan0' }), ['bus-7#2', 'van-2#1']);
  assert.deepEqual(await seqs({ uplink: 'wlan0' }), ['bus-7#2', 'bus-7#3', 'van-2#1', 'bus-7#5']);
  assert.deepEqual(await seqs({ reason: 'carrier-loss' }), ['bus-7#3']);
  assert.deepEqual(await seqs({ sinceMs: T0 + 2000, untilMs: T0 + 4000 }), ['bus-7#2', 'bus-7#3', 'van-2#1']);
  assert.deepEqual(await seqs({ vehicle: 'bus-7', desc: true, limit: 2 }), ['bus-7#5', 'bus-7#3']);
  const upto = (await store.query({})).find((e) => e.seq === 3)!.rowid;
  assert.deepEqual(await seqs({ afterRowid: upto }), ['van-2#1', 'bus-7#5']);
  assert.deepEqual(await seqs({ uptoRowid: upto }), ['bus-7#1', 'bus-7#2', 'bus-7#3']);
  assert.equal((await store.maxRowid()), 5);
  assert.equal((await store.last('bus-7'))!.seq, 5);
  assert.equal((await store.last('nobody')), null);
});

test('a late event (shipped after an outage) sorts by when it happened, not when it arrived', async () => {
  const store = new EventStore(openEventsDb(':memory:'));
  (await store.ingest([ev(1), ev(3)]));
  (await store.ingest([ev(2)]));
  assert.deepEqual((await store.query()).map((e) => e.seq), [1, 2, 3]);
});

test('the (vehicle, at) index serves a one-vehicle time query', async () => {
  const db = openEventsDb(':memory:');
  const plan = db.prepare('EXPLAIN QUERY PLAN SELECT * FROM switch_events WHERE vehicle = ? AND at >= ? ORDER BY at').all('bus-7', 0) as Array<{ detail: string }>;
  assert.match(plan.map((p) => p.detail).join(' | '), /switch_events_vehicle_at/);
});

test('prune: deletes events HQ received before the cut, in chunks', async () => {
  let now = T0;
  const store = new EventStore(openEventsDb(':memory:'), { now: () => now });
  for (let i = 1; i <= 25; i++) {
    now = T0 + i * 1000;
    (await store.ingest([ev(i)]));
  }
  assert.equal((await store.prune(T0 + 10_500, 4)), 10);
  assert.equal((await store.count()), 15);
  assert.equal((await store.query({ limit: 1 }))[0]!.seq, 11);
});

test('prune: a vehicle whose clock was years behind (booted in the past) keeps its events for the retention from when HQ received them', async () => {
  const day = 86_400_000;
  let now = T0;
  const store = new EventStore(openEventsDb(':memory:'), { now: () => now });
  const past = new Date(Date.UTC(2019, 0, 1)).toISOString();
  (await store.ingest([ev(1, { at: past }), ev(2)]));
  now = T0 + 8 * day;
  (await store.ingest([ev(3, { at: past })]));
  // 7 days of retention at T0 + 8 d: the two received at T0 go, the one received now stays, however old its `at`.
  assert.equal((await store.prune(now - 7 * day)), 2);
  assert.deepEqual((await store.query({})).map((e) => [e.seq, e.at]), [[3, past]]);
});
