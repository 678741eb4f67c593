// The stores' contract on both backends: every case runs on SQLite (files in a temp state dir) and on PostgreSQL (a
// private server this file starts and stops), through openStores as the daemon opens them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { InputError } from '../../shared/errors.js';
import { PRIVATE_RANGES } from '../../concentrator/cidr.js';
import { openStores, type Stores } from '../../concentrator/store/stores.js';
import { EnrollmentService } from '../../concentrator/store/enrollments/service.js';
import { DatabaseError, migratePostgres, openPostgres, POSTGRES_MIGRATIONS } from '../../concentrator/store/postgres.js';
import { buildAgentApi } from '../../concentrator/agent-api/app.js';
import { FleetState } from '../../concentrator/agent-api/fleet.js';
import { GroupCommit } from '../../concentrator/agent-api/ingest.js';
import type { DurableMark, SwitchEvent } from '../../shared/wire/switch-event.js';
import { startTestPostgres, type TestPostgres } from './postgres.fixture.js';
import { Journal } from '../../agent/journal/journal.js';
import { Shipper } from '../../agent/ship/shipper.js';
import { SimClock } from '../../shared/clock.js';
import { hqProcess } from './hq-process.fixtures.test.js';

const K = (n: number) => Buffer.alloc(32, n).toString('base64');
const T0 = Date.parse('2026-12-01T10:00:00Z');
const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
function ev(n: number, over: Partial<SwitchEvent> = {}): SwitchEvent {
  return {
    id: uuid(n), vehicle: 'bus-7', seq: n, at: new Date(T0 + n * 1000).toISOString(), from: n === 1 ? null : 'wlan0', to: 'wlan1',
    reason: 'signal', why: null, ms_to_first_packet: 12.5, gap_ms: 0, candidates: [], site: null, ...over,
  };
}

let pgServer: TestPostgres | null = null;
let dbs = 0;
const dirs: string[] = [];

before(() => {
  pgServer = startTestPostgres();
});
after(() => {
  pgServer?.destroy();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

type Backend = 'sqlite' | 'postgres';
const BACKENDS: Backend[] = ['sqlite', 'postgres'];

/** A fresh store of that kind, closed after the test. */
async function fresh(t: { after: (fn: () => unknown) => void }, kind: Backend, o: { now?: () => number; onRegistryChange?: () => void } = {}): Promise<Stores & { cfg: { state_dir: string; database?: string } }> {
  const dir = mkdtempSync(join(tmpdir(), 'rl-store-'));
  dirs.push(dir);
  const database = kind === 'postgres' ? await pgServer!.createDatabase(`t${++dbs}`) : undefined;
  const cfg = { state_dir: join(dir, 'state'), database, tunnel_network: '10.99.0.0/24', lan_subnets: ['192.168.10.0/24'], vehicle_subnets: [...PRIVATE_RANGES] };
  const s = await openStores(cfg, o);
  t.after(() => s.close());
  assert.equal(s.kind, kind);
  return Object.assign(s, { cfg });
}

for (const kind of BACKENDS) {
  test(`${kind}: registry: add, list, active, get, byAddress, revoke; a refusal changes nothing`, async (t) => {
    const { vehicles } = await fresh(t, kind);
    const a = (await vehicles.add({ name: 'a', subnet: '10.20.1.0/24', publicKey: K(1) })).vehicle;
    const b = (await vehicles.add({ name: 'b', publicKey: K(2), site: 'depot' })).vehicle;
    assert.deepEqual([a.tunnel_address, b.tunnel_address, b.subnet], ['10.99.0.2', '10.99.0.3', '10.0.0.0/24']);
    await assert.rejects(vehicles.add({ name: 'a', subnet: '10.20.9.0/24', publicKey: K(3) }), /NAME: vehicle "a" already exists/);
    await assert.rejects(vehicles.add({ name: 'c', subnet: '10.20.1.128/25', publicKey: K(3) }), /overlaps vehicle "a"/);
    assert.equal((await vehicles.list()).length, 2, 'the refusals stored nothing');
    assert.deepEqual(await vehicles.byAddress('10.99.0.3'), { name: 'b' });
    // Asked at once (one query for all): each caller its own answer.
    assert.deepEqual(await Promise.all(['10.99.0.3', '10.99.0.9', '10.99.0.2', '10.99.0.3'].map((x) => vehicles.byAddress(x))), [{ name: 'b' }, null, { name: a.name }, { name: 'b' }]);
    const r = await vehicles.revoke('b');
    assert.ok(r.revoked_at);
    assert.equal(await vehicles.byAddress('10.99.0.3'), null, 'a revoked vehicle is nobody');
    await assert.rejects(vehicles.revoke('b'), /already revoked/);
    await assert.rejects(vehicles.add({ name: 'd', subnet: '10.20.4.0/24', publicKey: K(2) }), /a revoked key cannot be reused/);
    const b2 = (await vehicles.add({ name: 'b', subnet: '10.20.2.0/24', publicKey: K(4) })).vehicle;
    assert.equal(b2.tunnel_address, '10.99.0.3', 'the freed address again');
    assert.equal((await vehicles.get('b'))!.public_key, K(4), 'get: the active one before the revoked one');
    assert.deepEqual((await vehicles.active()).map((v) => v.name), ['a', 'b']);
    assert.deepEqual((await vehicles.list()).map((v) => [v.name, v.revoked_at !== null]), [['a', false], ['b', true], ['b', false]]);
  });

  test(`${kind}: registry: concurrent adds take turns (distinct addresses and subnets, nothing lost)`, async (t) => {
    const { vehicles } = await fresh(t, kind);
    const added = await Promise.all(Array.from({ length: 8 }, (_, i) => vehicles.add({ name: `v${i}`, publicKey: K(10 + i) })));
    assert.equal(new Set(added.map((x) => x.vehicle.tunnel_address)).size, 8);
    assert.equal(new Set(added.map((x) => x.vehicle.subnet)).size, 8);
    assert.equal((await vehicles.active()).length, 8);
  });

  test(`${kind}: the agents' callers from memory, across two store clients (issue 14): a revoke or add through the other (the CLI, the other HQ) is seen by this one's next lookup`, async (t) => {
    let told = 0;
    const a = await fresh(t, kind, { onRegistryChange: () => told++ });
    const bus = (await a.vehicles.add({ name: 'bus-7', subnet: '10.20.7.0/24', publicKey: K(1) })).vehicle;
    // The other client: SQLite, a second connection to the same files (as the CLI opens them); PostgreSQL, the other HQ.
    const cfg = a.cfg as Parameters<typeof openStores>[0];
    const b = await openStores(kind === 'sqlite' ? cfg : { ...cfg, state_dir: join(a.cfg.state_dir, '..', 'b') });
    t.after(() => b.close());
    const stats = () => ({ ...a.vehicles.callerStats()! });
    /** Asks until the map answers (the first lookups go to the store while it is read). */
    const warm = async (address: string) => {
      for (let i = 0; i < 200; i++) {
        const h = stats().hits;
        const r = await a.vehicles.byAddress(address);
        if (stats().hits > h) return r;
        await sleep(5);
      }
      throw new Error('the map never answered');
    };
    assert.deepEqual(await warm(bus.tunnel_address), { name: 'bus-7' });
    assert.equal(await warm('10.99.0.77'), null, 'nobody, from the map too');
    /** What a answers from the moment `change` resolved until it answers `want`: [answer, ms taken]. */
    const until = async (address: string, want: { name: string } | null): Promise<[unknown, number]> => {
      const t0 = performance.now();
      let r = await a.vehicles.byAddress(address);
      // SQLite: at once (data_version is read on every lookup). PostgreSQL: when the notification arrives.
      while (kind === 'postgres' && JSON.stringify(r) !== JSON.stringify(want) && performance.now() - t0 < 2000) r = (await sleep(1), await a.vehicles.byAddress(address));
      return [r, performance.now() - t0];
    };
    await b.vehicles.revoke('bus-7');
    const [gone, revokeMs] = await until(bus.tunnel_address, null);
    assert.equal(gone, null, 'revoked through the other client: nobody');
    const van = (await b.vehicles.add({ name: 'van-2', subnet: '10.20.8.0/24', publicKey: K(2) })).vehicle;
    const [added, addMs] = await until(van.tunnel_address, { name: 'van-2' });
    assert.deepEqual(added, { name: 'van-2' }, 'added through the other client: known');
    if (kind === 'sqlite') assert.ok(revokeMs < 50 && addMs < 50);
    else assert.ok(revokeMs < 500 && addMs < 500, `seen after ${revokeMs.toFixed(1)} / ${addMs.toFixed(1)} ms`);
    // PostgreSQL: the daemon is told too (it reconciles its peers at once); SQLite's CLI tells it through its socket.
    if (kind === 'postgres') assert.ok(told >= 3, `told ${told} times (its own add, the other's revoke and add)`);
    // This client's own change: at once on both (the map dropped before revoke() resolves).
    assert.deepEqual(await warm(van.tunnel_address), { name: 'van-2' });
    await a.vehicles.revoke('van-2');
    assert.equal(await a.vehicles.byAddress(van.tunnel_address), null);
    assert.ok(stats().loads >= 2, 'the map was read again after the changes');
    t.diagnostic(`${kind}: seen by the other client after ${revokeMs.toFixed(2)} ms (revoke), ${addMs.toFixed(2)} ms (add); ${JSON.stringify(stats())}`);
  });

  test(`${kind}: switch log: idempotent by (vehicle, id) across batches and calls; another vehicle's id is its own`, async (t) => {
    const { events } = await fresh(t, kind, { now: () => T0 + 99_000 });
    const [r1, r2] = await events.ingestMany([[ev(1), ev(2)], [ev(2), ev(3)]]);
    assert.deepEqual([r1!.inserted.map((e) => e.seq), r1!.duplicates, r2!.inserted.map((e) => e.seq), r2!.duplicates], [[1, 2], 0, [3], 1]);
    const again = await events.ingest([ev(1), ev(1, { vehicle: 'van-2' })]);
    assert.deepEqual([again.inserted.map((e) => e.vehicle), again.duplicates], [['van-2'], 1]);
    assert.equal(await events.count(), 4);
    const all = await events.query({ vehicle: 'bus-7' });
    assert.deepEqual(all.map((e) => [e.seq, e.id, e.from, e.ms_to_first_packet, e.received_at]), [1, 2, 3].map((n) => [n, uuid(n), n === 1 ? null : 'wlan0', 12.5, new Date(T0 + 99_000).toISOString()]));
    await assert.rejects(events.ingest([ev(9), { ...ev(10), to: null as unknown as string }]));
    assert.equal(await events.count(), 4, 'a failed batch stores none of it');
  });

  test(`${kind}: switch log: filters, orders, the cursor (log_id), keyset pages, last, prune`, async (t) => {
    let now = T0;
    const { events } = await fresh(t, kind, { now: () => now });
    await events.ingest([ev(1, { site: 'depot' }), ev(2, { site: 'depot', at: new Date(T0 - 5000).toISOString() }), ev(3, { reason: 'carrier-loss', to: 'wwan0' })]);
    now = T0 + 86_400_000;
    await events.ingest([ev(1, { vehicle: 'van-2' })]);
    const names = (es: Array<{ vehicle: string; seq: number | null }>) => es.map((e) => `${e.vehicle}#${e.seq}`);
    assert.deepEqual(names(await events.query({ vehicle: 'bus-7' })), ['bus-7#1', 'bus-7#2', 'bus-7#3'], "a vehicle's log in seq order, whatever its clock");
    assert.deepEqual(names(await events.query({})), ['bus-7#2', 'bus-7#1', 'van-2#1', 'bus-7#3'], "the fleet's by HQ's time");
    assert.deepEqual(names(await events.query({ site: 'depot', desc: true })), ['bus-7#1', 'bus-7#2']);
    assert.deepEqual(names(await events.query({ uplink: 'wwan0' })), ['bus-7#3']);
    assert.deepEqual(names(await events.query({ reason: 'carrier-loss' })), ['bus-7#3']);
    assert.deepEqual(names(await events.query({ sinceMs: T0, untilMs: T0 + 2000 })), ['bus-7#1', 'van-2#1']);
    const cursor = (await events.query({ vehicle: 'bus-7' }))[2]!.rowid;
    assert.deepEqual(names(await events.query({ afterRowid: cursor })), ['van-2#1'], 'after a cursor: in stored order');
    assert.equal(await events.maxRowid(), cursor + 1);
    assert.equal((await events.last('bus-7'))!.seq, 3);
    assert.equal(await events.last('nobody'), null);
    // Pages: more rows than one page, read in order, each once.
    now = T0 + 2 * 86_400_000;
    const many = Array.from({ length: 4500 }, (_, i) => ev(100 + i, { vehicle: `car-${i % 7}`, at: new Date(T0 + (i % 50) * 1000).toISOString() }));
    await events.ingest(many);
    const viaQuery = (await events.query({})).map((e) => `${e.vehicle}/${e.id}`);
    const viaIterate: string[] = [];
    for await (const e of events.iterate({})) viaIterate.push(`${e.vehicle}/${e.id}`);
    assert.equal(viaIterate.length, 4504);
    assert.deepEqual(viaIterate, viaQuery, 'iterate pages through the same order as one query');
    const desc: string[] = [];
    for await (const e of events.iterate({ desc: true, limit: 2100 })) desc.push(`${e.vehicle}/${e.id}`);
    assert.deepEqual(desc, viaQuery.slice().reverse().slice(0, 2100));
    // Retention by HQ's receive time.
    assert.equal(await events.prune(T0 + 1), 3);
    assert.equal(await events.count(), 4501);
    assert.equal(await events.prune(T0 + 2 * 86_400_000 + 1, 1000), 4501, 'in chunks');
    assert.equal(await events.count(), 0);
  });

  test(`${kind}: sites: add, update (audited, versioned), set read as one, remove, history`, async (t) => {
    const { sites } = await fresh(t, kind);
    await sites.add({ name: 'depot', match: { ssid: ['depot'] }, profile: { switch_below: -70 } }, 'cli:ann');
    const u = await sites.update('depot', { profile: { hold_ms: 2000 } }, 'dashboard:bob');
    assert.deepEqual([u.changed, u.site.version, u.site.profile], [true, 2, { switch_below: -70, hold_ms: 2000 }]);
    assert.equal((await sites.update('depot', { profile: { hold_ms: 2000 } }, 'x')).changed, false);
    await assert.rejects(sites.add({ name: 'depot', match: { ssid: ['x'] } }, 'cli:ann'), /already exists/);
    const set = await sites.set();
    assert.deepEqual([set.version, set.sites.map((s) => s.name)], [2, ['depot']]);
    await sites.remove('depot', 'cli:ann');
    assert.equal(await sites.get('depot'), null);
    assert.deepEqual((await sites.history('depot')).map((h) => [h.set_version, h.action, h.who]), [[1, 'add', 'cli:ann'], [2, 'set', 'dashboard:bob'], [3, 'remove', 'cli:ann']]);
    assert.equal(await sites.version(), 3);
    assert.deepEqual((await sites.recent(1)).map((h) => h.action), ['remove']);
  });

  test(`${kind}: fleet state: saved and loaded whole; an older heartbeat never replaces a newer one; a restart restores online`, async (t) => {
    const { fleet: store } = await fresh(t, kind);
    let now = T0;
    const hb = (vehicle: string, at: number) => ({
      vehicle, at: new Date(at - 1500).toISOString(), active: 'wwan0', site: null, journal_backlog: 2,
      uplinks: [{ name: 'wwan0', kind: 'lte' as const, state: 'ready', ready: true, signal: -90, rtt_ms: 40, loss: 0, rx_bytes: 1000, tx_bytes: 500 }],
    });
    const live = new FleetState({ offlineAfterMs: 15_000, now: () => now });
    live.heartbeat(hb('bus-7', now) as never);
    live.heartbeat(hb('van-2', now) as never);
    assert.deepEqual(live.takeDirty().sort(), ['bus-7', 'van-2']);
    await store.save(['bus-7', 'van-2'].map((v) => live.snapshot(v)!));
    await store.save([{ ...live.snapshot('bus-7')!, receivedAt: T0 - 60_000, lte: [] }]);
    now = T0 + 5000;
    const again = new FleetState({ offlineAfterMs: 15_000, now: () => now });
    for (const s of await store.load()) again.restore(s);
    assert.deepEqual(again.get('bus-7'), live.get('bus-7'), 'the newer row kept: online, clock offset, last heartbeat');
    assert.equal(again.get('bus-7')!.clockOffsetMs, 1500);
    assert.equal(again.onlineCount(), 2);
    assert.deepEqual(again.takeDirty(), [], 'a restored vehicle is not written back');
    await store.forget('van-2');
    assert.deepEqual((await store.load()).map((s) => s.vehicle), ['bus-7']);
  });

  test(`${kind}: enrollment codes: issued hashed, claimed once with the add (two at once: one vehicle), expired or reused refused with nothing changed; revoke audited, fleet row gone`, async (t) => {
    let now = T0;
    const s = await fresh(t, kind);
    const codes = new EnrollmentService(s.vehicles.store, () => new Date(now));
    const { code } = await codes.issue({ vehicle: 'bus-9', subnet: null, subnet_prefix: 24, site: 'depot', who: 'alice', ttlMs: 60_000 });
    const hashed = (await sql<{ code_hash: string }>`SELECT code_hash FROM enrollment_codes`.execute(s.vehicles.store.db)).rows;
    assert.equal(hashed.length, 1);
    assert.ok(!hashed[0]!.code_hash.includes(code.replace(/-/g, '')), 'only the hash stored');
    const c = await codes.check(code.toLowerCase());
    assert.ok(c.ok && c.pending.vehicle === 'bus-9' && c.pending.site === 'depot' && c.pending.subnet_prefix === 24);
    const redeem = (key: number, from: string) => s.vehicles.add({ name: 'bus-9', publicKey: K(key), site: 'depot', also: (trx) => codes.claim(trx, c.hash, from) });
    const both = await Promise.allSettled([redeem(40, 'a'), redeem(41, 'b')]);
    assert.deepEqual(both.map((r) => r.status).sort(), ['fulfilled', 'rejected'], 'one of two redemptions at once wins');
    assert.equal((await s.vehicles.active()).length, 1);
    assert.deepEqual(await codes.check(code), { ok: false, why: 'used', at: new Date(T0).toISOString(), vehicle: 'bus-9' });
    await assert.rejects(redeem(42, 'c'), /used meanwhile|already exists/);
    // Expired: refused at check and at claim, nothing added.
    const late = await codes.issue({ vehicle: 'van-1', subnet: null, subnet_prefix: 24, site: null, who: 'alice', ttlMs: 60_000 });
    const lc = await codes.check(late.code);
    now += 60_000;
    assert.deepEqual(await codes.check(late.code), { ok: false, why: 'expired', at: new Date(T0 + 60_000).toISOString(), vehicle: 'van-1' });
    assert.ok(lc.ok);
    await assert.rejects(s.vehicles.add({ name: 'van-1', publicKey: K(43), also: (trx) => codes.claim(trx, lc.hash, 'd') }), /used meanwhile/);
    assert.equal(await s.vehicles.get('van-1'), null, 'the add rolled back');
    // A newer code cancels the older; unknown and malformed codes.
    const first = await codes.issue({ vehicle: 'van-2', subnet: null, subnet_prefix: 24, site: null, who: 'bob' });
    await codes.issue({ vehicle: 'van-2', subnet: null, subnet_prefix: 24, site: null, who: 'bob' });
    assert.equal((await codes.check(first.code) as { why: string }).why, 'used');
    assert.equal((await codes.check('ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ') as { why: string }).why, 'unknown');
    assert.equal((await codes.check('nope') as { why: string }).why, 'malformed');
    // Revoke: its fleet row goes with it, in the same transaction as the audit line.
    await s.fleet.save([{ vehicle: 'bus-9', receivedAt: T0, last: { vehicle: 'bus-9' } as never, lte: [] }]);
    await s.vehicles.revoke('bus-9', (trx, v) => codes.audit('carol', 'revoked', v.name, 'test', trx));
    assert.deepEqual(await s.fleet.load(), []);
    await s.fleet.save([{ vehicle: 'bus-9', receivedAt: T0 + 1, last: { vehicle: 'bus-9' } as never, lte: [] }]);
    assert.deepEqual(await s.fleet.load(), [], 'a heartbeat from before the revocation is not written back');
    assert.deepEqual((await codes.recentAudit()).map((e) => [e.action, e.vehicle, e.who]), [
      ['revoked', 'bus-9', 'carol'], ['code', 'van-2', 'bob'], ['cancelled', 'van-2', 'bob'], ['code', 'van-2', 'bob'], ['code', 'van-1', 'alice'], ['code', 'bus-9', 'alice'],
    ]);
  });

  test(`${kind}: drives: pieces in order, a resend dropped, a gap refused; segments by site; text; prune cascades`, async (t) => {
    const { drives } = await fresh(t, kind);
    const head = `${JSON.stringify({ drive: 1, vehicle: 'bus-1', start_wall: T0, site: 'depot' })}\n`;
    const line = (ms: number) => `${JSON.stringify({ t: ms, e: 'p', site: 'street-7' })}\n`;
    const piece = (offset: number, text: string, o: { start_wall?: number | null; last_t?: number | null; sites?: string[] } = {}) =>
      ({ vehicle: 'bus-1', segment: 'drive-a.jsonl', offset, text, start_wall: o.start_wall ?? null, last_t: o.last_t ?? null, sites: o.sites ?? [] });
    assert.deepEqual(await drives.append(piece(0, head, { start_wall: T0, sites: ['depot'] }), T0), { kind: 'ok', have: head.length, added: head.length });
    const more = line(1000) + line(2000);
    assert.deepEqual(await drives.append(piece(head.length + 5, more), T0), { kind: 'gap', have: head.length });
    assert.deepEqual(await drives.append(piece(head.length, more, { last_t: 2000, sites: ['street-7'] }), T0 + 1000), { kind: 'ok', have: head.length + more.length, added: more.length });
    assert.deepEqual(await drives.append(piece(0, head + more, { start_wall: T0, last_t: 2000, sites: ['depot', 'street-7'] }), T0 + 2000), { kind: 'ok', have: head.length + more.length, added: 0 }, 'a resend of what is held');
    assert.equal(await drives.have('bus-1', 'drive-a.jsonl'), head.length + more.length);
    assert.equal(await drives.text('bus-1', 'drive-a.jsonl'), head + more);
    const [s] = await drives.segments({ site: 'street-7' });
    assert.deepEqual([s!.vehicle, s!.start_wall, s!.last_wall, s!.sites], ['bus-1', T0, T0 + 2000, ['depot', 'street-7']]);
    assert.deepEqual(await drives.segments({ site: 'nowhere' }), []);
    assert.deepEqual(await drives.segments({ sinceWall: T0 + 3000 }), []);
    assert.equal(await drives.prune(T0 + 1001), 1);
    assert.equal(await drives.have('bus-1', 'drive-a.jsonl'), 0);
    assert.equal(await drives.text('bus-1', 'drive-a.jsonl'), '', 'its pieces went with it');
  });
}

test('postgres: migrations run once, concurrently too; a newer schema is refused by name', async () => {
  const url = await pgServer!.createDatabase('migr');
  const [a, b] = await Promise.all([openPostgres(url), openPostgres(url)]);
  try {
    const latest = POSTGRES_MIGRATIONS.at(-1)!.version;
    assert.equal(await migratePostgres(a), latest);
    const n = (await sql<{ n: number }>`SELECT COUNT(*) AS n FROM roamlink_schema`.execute(b.db)).rows[0]!.n;
    assert.equal(n, POSTGRES_MIGRATIONS.length, 'each step applied once');
    await sql`INSERT INTO roamlink_schema (version, applied_at) VALUES (${latest + 1}, 'later')`.execute(a.db);
  } finally {
    await a.close();
    await b.close();
  }
  await assert.rejects(openPostgres(url), (e: Error) => e instanceof DatabaseError && /schema version \d+ is newer than this roamlink understands/.test(e.message));
});

test('postgres: the caller\'s lookup has connections of its own: it answers while every pooled connection is held by writes', async (t) => {
  const stores = await fresh(t, 'postgres');
  const a = (await stores.vehicles.add({ name: 'a', subnet: '10.20.1.0/24', publicKey: K(1) })).vehicle;
  // The main pool's 10 connections, each in a transaction that waits (as group commits waiting on fsync would).
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let open = 0;
  let opened!: () => void;
  const allOpen = new Promise<void>((r) => (opened = r));
  const held = Array.from({ length: 10 }, () =>
    stores.parts.events.db.transaction().execute(async (trx) => {
      await sql`SELECT 1`.execute(trx);
      if (++open === 10) opened();
      await gate;
    }));
  await allOpen;
  // Released after 10 s at the latest, so a failing lookup fails the test instead of hanging it.
  let releasedBy: 'lookup' | 'timer' | null = null;
  const timer = setTimeout(() => ((releasedBy ??= 'timer'), release()), 10_000);
  // As a reconnect storm asks: many callers at once, one of them not a vehicle.
  const who = await Promise.all([...Array.from({ length: 300 }, () => stores.vehicles.byAddress(a.tunnel_address)), stores.vehicles.byAddress('10.99.0.200')]);
  releasedBy ??= 'lookup';
  clearTimeout(timer);
  release();
  await Promise.all(held);
  assert.deepEqual(who, [...Array.from({ length: 300 }, () => ({ name: 'a' })), null]);
  assert.equal(releasedBy, 'lookup', 'the lookup answered before the held connections were let go');
});

test('postgres: the registry\'s change feed down (its connection killed): lookups ask the database, so a revoke by the other HQ meanwhile takes effect at once; the map is used again once the feed is back', async (t) => {
  const a = await fresh(t, 'postgres');
  const bus = (await a.vehicles.add({ name: 'bus-7', subnet: '10.20.7.0/24', publicKey: K(1) })).vehicle;
  await a.vehicles.add({ name: 'van-2', subnet: '10.20.8.0/24', publicKey: K(2) });
  const b = await openStores({ ...(a.cfg as Parameters<typeof openStores>[0]), state_dir: join(a.cfg.state_dir, '..', 'b') });
  t.after(() => b.close());
  const { WATCH_APPLICATION } = await import('../../concentrator/store/vehicles/watch.postgres.js');
  const stats = () => ({ ...a.vehicles.callerStats()! });
  /** Asks until one lookup is answered as `hit` says (from the map or not); its answer. */
  const ask = async (address: string, hit: boolean) => {
    for (let i = 0; i < 400; i++) {
      const h = stats().hits;
      const r = await a.vehicles.byAddress(address);
      if ((stats().hits > h) === hit) return r;
      await sleep(5);
    }
    throw new Error(`no lookup answered ${hit ? 'from the map' : 'by the database'}`);
  };
  assert.deepEqual(await ask(bus.tunnel_address, true), { name: 'bus-7' });
  // Every feed's connection killed by the server (as a restart or a cut would end it).
  const killed = (await sql<{ n: number }>`SELECT COUNT(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = ${WATCH_APPLICATION}`.execute(b.parts.registry.db)).rows[0]!.n;
  assert.equal(killed, 2, 'both HQs\' feeds');
  assert.deepEqual(await ask(bus.tunnel_address, false), { name: 'bus-7' }, 'feed down: asked the database');
  // No notification can arrive now; the revoke through b is seen at a's next lookup all the same.
  await b.vehicles.revoke('bus-7');
  assert.equal(await a.vehicles.byAddress(bus.tunnel_address), null);
  // The feed reconnects (at most once a second, driven by lookups) and the map, read anew, answers again.
  assert.deepEqual(await ask('10.99.0.3', true), { name: 'van-2' });
  assert.equal(await a.vehicles.byAddress(bus.tunnel_address), null);
  await b.vehicles.revoke('van-2');
  let r = await a.vehicles.byAddress('10.99.0.3');
  for (let i = 0; i < 200 && r !== null; i++) r = (await sleep(5), await a.vehicles.byAddress('10.99.0.3'));
  assert.equal(r, null, 'the new feed\'s notification dropped the map');
});

test('postgres: an unreachable or wrong database at start is a clear error within the connect timeout, the password never in it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rl-nopg-'));
  dirs.push(dir);
  const t0 = Date.now();
  await assert.rejects(openPostgres(`postgres://roamlink:s3cr3t-pw@localhost/x?host=${encodeURIComponent(dir)}`, { connectTimeoutMs: 2000 }), (e: Error) => {
    assert.ok(e instanceof DatabaseError, e.message);
    assert.match(e.message, /^database postgres:\/\/roamlink:\*\*\*@localhost\/x/);
    assert.doesNotMatch(e.message, /s3cr3t-pw/);
    return true;
  });
  assert.ok(Date.now() - t0 < 5000, `gave up after ${Date.now() - t0} ms`);
  await assert.rejects(openPostgres(pgServer!.url('no_such_db').replace('roamlink@', 'roamlink:pw-9@')), (e: Error) => /database "no_such_db" does not exist/.test(e.message) && !e.message.includes('pw-9'));
  await assert.rejects(openPostgres('mysql://x@y/z'), /is not a postgres:\/\/ URL/);
});

test('a server on a unix socket that stopped (its socket file gone) is the store unavailable (503), another missing file is not', async () => {
  const { isStoreUnavailable } = await import('../../concentrator/store/sql.js');
  assert.equal(isStoreUnavailable(Object.assign(new Error('connect ENOENT /run/postgresql/.s.PGSQL.5432'), { code: 'ENOENT', syscall: 'connect' })), true);
  // As the switch log's writer thread passes it on: code and message.
  assert.equal(isStoreUnavailable({ code: 'ENOENT', message: 'connect ENOENT /tmp/rl-pg-x/.s.PGSQL.5432' }), true);
  assert.equal(isStoreUnavailable(Object.assign(new Error("ENOENT: no such file or directory, open '/etc/roamlink/x'"), { code: 'ENOENT' })), false);
});

test('postgres: the database lost while running: the agents\' API answers 503 (nothing acknowledged), then stores again by itself', async (t) => {
  const s = await fresh(t, 'postgres');
  await s.vehicles.add({ name: 'bus-7', subnet: '10.20.7.0/24', publicKey: K(1) });
  const gc = new GroupCommit(s.events);
  const app = buildAgentApi({ identify: (a) => s.vehicles.byAddress(a), ingest: (b) => gc.submit(b), fleet: new FleetState({ offlineAfterMs: 15_000 }) });
  t.after(() => app.close());
  const post = (events: SwitchEvent[]) => app.inject({ method: 'POST', url: '/v1/events', remoteAddress: '10.99.0.2', payload: { events } });
  assert.equal((await post([ev(1)])).statusCode, 200);
  pgServer!.stop();
  try {
    const down = await post([ev(2)]);
    assert.equal(down.statusCode, 503, down.body);
    assert.equal(down.json().error.code, 'STORE_UNAVAILABLE');
    assert.equal(down.headers['retry-after'], '5');
  } finally {
    pgServer!.start();
  }
  // As an agent does: retried until stored (a connection that broke with the server may fail one more request).
  let back = await post([ev(2)]);
  for (let i = 0; i < 20 && back.statusCode === 503; i++) back = (await sleep(100), await post([ev(2)]));
  assert.equal(back.statusCode, 200, back.body);
  assert.deepEqual((await s.events.query({ vehicle: 'bus-7' })).map((e) => e.seq), [1, 2], 'each once');
});

test('postgres: two HQs on one store (issue 14): a batch HQ a stored but never acknowledged, resent to HQ b, is acknowledged whole and stored once', async (t) => {
  const a = await fresh(t, 'postgres');
  await a.vehicles.add({ name: 'bus-7', subnet: '10.20.7.0/24', publicKey: K(1) });
  // HQ b: its own process on the same database (its own pool, its own group commit, its own fleet state).
  const b = await openStores({ ...(a.cfg as Parameters<typeof openStores>[0]), state_dir: join(a.cfg.state_dir, '..', 'b') });
  t.after(() => b.close());
  const hq = (s: Stores) => {
    const gc = new GroupCommit(s.events);
    const app = buildAgentApi({ identify: (x) => s.vehicles.byAddress(x), ingest: (x) => gc.submit(x), fleet: new FleetState({ offlineAfterMs: 15_000 }) });
    t.after(() => app.close());
    return (events: SwitchEvent[]) => app.inject({ method: 'POST', url: '/v1/events', remoteAddress: '10.99.0.2', payload: { events } });
  };
  const [postA, postB] = [hq(a), hq(b)];
  assert.equal((await postA([ev(1), ev(2)])).statusCode, 200);
  // HQ a stores 3 and 4, then powers off before its answer leaves: the agent still holds them unshipped.
  await a.events.ingest([ev(3), ev(4)]);
  // The agent ships what it holds, 3 and 4 again with 5, to HQ b: all acknowledged, none stored twice.
  const r = await postB([ev(3), ev(4), ev(5)]);
  assert.equal(r.statusCode, 200, r.body);
  assert.deepEqual([r.json().stored, r.json().inserted, r.json().duplicates], [[uuid(3), uuid(4), uuid(5)], 1, 2]);
  assert.deepEqual((await b.events.query({ vehicle: 'bus-7' })).map((e) => e.seq), [1, 2, 3, 4, 5], 'each once, as either HQ reads it');
  assert.deepEqual((await a.events.query({ vehicle: 'bus-7' })).map((e) => e.seq), [1, 2, 3, 4, 5]);
});

for (const kind of BACKENDS) {
  test(`${kind}: operators (issue 14): kept as their tokens' hashes; add, remove, a removed name given again; an old file adopted once, never bringing back one removed`, async (t) => {
    const s = await fresh(t, kind);
    const { adoptOperatorsFile, adoptedPath } = await import('../../concentrator/store/operators/service.js');
    const { tokenHash, writeOperatorsFile } = await import('../../concentrator/admin/operators.js');
    const { existsSync, mkdirSync, readFileSync } = await import('node:fs');
    const h = (n: number) => tokenHash(`rl_token-${n}`);
    await s.operators.add({ name: 'ann', sha256: h(1) });
    await s.operators.add({ name: 'bob', sha256: h(2) });
    await assert.rejects(s.operators.add({ name: 'ann', sha256: h(3) }), /NAME: operator ann exists/);
    await assert.rejects(s.operators.add({ name: 'cat', sha256: h(1) }), (e: Error) => /another operator's/.test(e.message) && !e.message.includes(h(1)));
    await s.operators.remove('bob');
    await assert.rejects(s.operators.remove('bob'), /NAME: no operator bob/);
    assert.deepEqual(await s.operators.active(), [{ name: 'ann', sha256: h(1) }]);
    // An operators file from before the store (or one copied to hq-b by hand): bob is in it, removed since: not back.
    mkdirSync(s.cfg.state_dir, { recursive: true });
    const file = join(s.cfg.state_dir, 'operators');
    await writeOperatorsFile(file, [{ name: 'ann', sha256: h(9) }, { name: 'bob', sha256: h(2) }, { name: 'dan', sha256: h(4) }, { name: 'eve', sha256: h(1) }]);
    const r = await adoptOperatorsFile(s.operators, file);
    assert.deepEqual(r, { adopted: ['dan'], kept: ['ann', 'bob', 'eve'] }, 'the store wins: a known name, or a token already another\'s, is kept as it is there');
    assert.ok(!existsSync(file) && existsSync(adoptedPath(file)), 'the file renamed, not read again');
    assert.equal(await adoptOperatorsFile(s.operators, file), null);
    assert.deepEqual((await s.operators.active()).map((o) => o.name), ['ann', 'dan']);
    assert.equal((await s.operators.active())[0]!.sha256, h(1));
    // A removed name given again, with a new token.
    await s.operators.add({ name: 'bob', sha256: h(5) });
    assert.deepEqual(await s.operators.active(), [{ name: 'ann', sha256: h(1) }, { name: 'bob', sha256: h(5) }, { name: 'dan', sha256: h(4) }]);
    if (kind === 'sqlite') assert.ok(!readFileSync(join(s.cfg.state_dir, 'registry.sqlite')).includes('rl_token-'), 'no token at rest');
  });
}

for (const kind of BACKENDS) {
  test(`${kind}: HQ's key (issue 14): the first start records it, the same key passes, another is refused naming both public keys until adopted; a backup carries it`, async (t) => {
    const s = await fresh(t, kind);
    const [pubA, pubB] = [K(7), K(8)];
    assert.equal(await s.hqKey.recorded(), null);
    assert.deepEqual(await s.hqKey.check(pubA, 'hq-a'), { recorded: true });
    assert.deepEqual(await s.hqKey.check(pubA, 'hq-b'), { recorded: false }, 'the other HQ with the identity imported');
    await assert.rejects(s.hqKey.check(pubB, 'hq-b'), (e: Error) =>
      e instanceof InputError && e.field === 'private_key_file' && e.message.includes(pubB) && e.message.includes(pubA) && /recorded by hq-a/.test(e.message) && /roamlink hq identity adopt/.test(e.message));
    assert.equal((await s.hqKey.recorded())!.public_key, pubA, 'a refused start changes nothing');
    // The fleet moves to B: adopted, B passes and A is the one refused.
    assert.equal((await s.hqKey.adopt(pubB, 'hq-b'))!.public_key, pubA);
    assert.deepEqual(await s.hqKey.check(pubB, 'hq-b'), { recorded: false });
    await assert.rejects(s.hqKey.check(pubA, 'hq-a'), /private_key_file: its public key/);
    // Restored elsewhere, it keeps HQ's key: a machine with another one is refused there too.
    const { backup, restore } = await import('../../concentrator/store/backup.js');
    const file = join(s.cfg.state_dir, '..', 'key.backup');
    assert.equal((await backup(s.parts, s.kind, file)).rows.hq_key, 1);
    const other = await fresh(t, kind);
    await restore(other.parts, file);
    await assert.rejects(other.hqKey.check(pubA, 'hq-c'), new RegExp(`HQ's \\(${pubB.replace(/[+/]/g, '\\$&')}`));
  });
}

test('postgres: two HQs on one store start at once with different keys: one is recorded, the other refused', async (t) => {
  const a = await fresh(t, 'postgres');
  const b = await openStores({ ...(a.cfg as Parameters<typeof openStores>[0]), state_dir: join(a.cfg.state_dir, '..', 'b') });
  t.after(() => b.close());
  const r = await Promise.allSettled([a.hqKey.check(K(1), 'hq-a'), b.hqKey.check(K(2), 'hq-b')]);
  assert.deepEqual(r.map((x) => x.status).sort(), ['fulfilled', 'rejected']);
});

test('postgres: two HQs on one store (issue 14): an operator added through hq-a is one hq-b knows, and one removed through hq-b is gone for hq-a', async (t) => {
  const a = await fresh(t, 'postgres');
  const b = await openStores({ ...(a.cfg as Parameters<typeof openStores>[0]), state_dir: join(a.cfg.state_dir, '..', 'b') });
  t.after(() => b.close());
  const { tokenHash } = await import('../../concentrator/admin/operators.js');
  await a.operators.add({ name: 'ann', sha256: tokenHash('rl_ann') });
  assert.deepEqual(await b.operators.active(), [{ name: 'ann', sha256: tokenHash('rl_ann') }]);
  await b.operators.remove('ann');
  assert.deepEqual(await a.operators.active(), []);
});

for (const kind of BACKENDS) {
  test(`${kind}: each event stored once across an HQ failover (issue 14): resent to the other HQ after the vehicle's clock stepped, and after its journal began again`, async (t) => {
    const a = await fresh(t, kind);
    await a.vehicles.add({ name: 'bus-7', subnet: '10.20.7.0/24', publicKey: K(1) });
    // HQ b: a process of its own on the same store (SQLite: the same files, a second connection; PostgreSQL: the database).
    const cfg = a.cfg as Parameters<typeof openStores>[0];
    const b = await openStores(kind === 'sqlite' ? cfg : { ...cfg, state_dir: join(a.cfg.state_dir, '..', 'b') });
    t.after(() => b.close());
    const hq = (s: Stores) => {
      const gc = new GroupCommit(s.events);
      const app = buildAgentApi({ identify: (x) => s.vehicles.byAddress(x), ingest: (x) => gc.submit(x), fleet: new FleetState({ offlineAfterMs: 15_000 }) });
      t.after(() => app.close());
      return async (events: SwitchEvent[], sent?: { wall: string; mono: { timeline: string; ms: number } }) => {
        const r = await app.inject({ method: 'POST', url: '/v1/events', remoteAddress: '10.99.0.2', payload: { ...(sent ? { sent } : {}), events } });
        assert.equal(r.statusCode, 200, r.body);
        return r.json() as { stored: string[]; inserted: number; duplicates: number };
      };
    };
    const [postA, postB] = [hq(a), hq(b)];
    const boot1 = '11111111-1111-4111-8111-111111111111';
    const boot2 = '22222222-2222-4222-8222-222222222222';
    const now = Date.now();
    // The agent's process on timeline boot1: its events carry its monotonic clock, each batch the clock it was sent at.
    const e1 = (n: number) => ev(n, { at: new Date(now - 60_000 + n * 1000).toISOString(), mono: { timeline: boot1, ms: n * 1000 } });
    assert.deepEqual((await postA([e1(1), e1(2)], { wall: new Date(now).toISOString(), mono: { timeline: boot1, ms: 60_000 } })).inserted, 2);
    // HQ a stores 3 and 4 and powers off before its answer leaves: the agent still holds them unshipped.
    await a.events.ingest([e1(3), e1(4)]);
    const before = await a.events.query({ vehicle: 'bus-7' });
    // Meanwhile the vehicle's wall clock stepped back an hour (NTP); the agent resends 3 and 4 with 5, to HQ b.
    const stepped = { wall: new Date(now - 3_600_000).toISOString(), mono: { timeline: boot1, ms: 61_000 } };
    assert.deepEqual(await postB([e1(3), e1(4), e1(5)], stepped), { stored: [uuid(3), uuid(4), uuid(5)], inserted: 1, duplicates: 2 });
    // A resend changes nothing stored: the rows of 3 and 4 are HQ a's, whole (time, receive time, cursor).
    const after = await b.events.query({ vehicle: 'bus-7' });
    assert.deepEqual(after.slice(0, 4), before);
    // The vehicle's journal begins again (its file set aside, its seq floor lost: seq restarts at 1, a new process
    // timeline): new events with new ids are stored although their seqs repeat old ones. This is why the key is the
    // event's id, not its seq: a (vehicle, seq) key would drop them as duplicates, and they would be lost.
    const e2 = (n: number, seq: number) => ev(n, { seq, mono: { timeline: boot2, ms: seq * 1000 } });
    assert.deepEqual((await postB([e2(101, 1), e2(102, 2)], { wall: new Date(now).toISOString(), mono: { timeline: boot2, ms: 5_000 } })).inserted, 2);
    // The old journal recovered and shipped again, to either HQ: all duplicates.
    assert.deepEqual(await postA([1, 2, 3, 4, 5].map(e1)), { stored: [1, 2, 3, 4, 5].map(uuid), inserted: 0, duplicates: 5 });
    const all = await a.events.query({ vehicle: 'bus-7' });
    assert.deepEqual(all.map((e) => e.id).sort(), [1, 2, 3, 4, 5, 101, 102].map(uuid).sort(), 'each event once, none lost');
    assert.equal(await b.events.count(), 7);
  });
}

/** A store with something in every table. */
async function fill(s: Stores): Promise<void> {
  await s.vehicles.add({ name: 'bus-7', subnet: '10.20.7.0/24', publicKey: K(1), site: 'depot' });
  await s.vehicles.add({ name: 'old', subnet: '10.20.8.0/24', publicKey: K(2) });
  await s.vehicles.revoke('old');
  await s.sites.add({ name: 'depot', match: { ssid: ['depot'] }, profile: { switch_below: -70 } }, 'cli:ann');
  await s.sites.update('depot', { profile: { hold_ms: 900 } }, 'cli:ann');
  await s.events.ingest(Array.from({ length: 300 }, (_, i) => ev(i + 1, { site: i % 2 ? 'depot' : null })));
  const head = `${JSON.stringify({ drive: 1, vehicle: 'bus-7', start_wall: T0 })}\n`;
  await s.drives.append({ vehicle: 'bus-7', segment: 'd.jsonl', offset: 0, text: head, start_wall: T0, last_t: null, sites: ['depot'] }, T0);
  const live = new FleetState({ offlineAfterMs: 15_000, now: () => T0 });
  live.heartbeat({ vehicle: 'bus-7', at: new Date(T0).toISOString(), active: null, site: null, journal_backlog: 0, uplinks: [] } as never);
  await s.fleet.save([live.snapshot('bus-7')!]);
  await s.operators.add({ name: 'ann', sha256: 'a'.repeat(64) });
  await s.operators.add({ name: 'bob', sha256: 'b'.repeat(64) });
  await s.operators.remove('bob');
}

/** What the stores hold, as the API shows it (ids and cursors included). */
async function contents(s: Stores) {
  return {
    vehicles: await s.vehicles.list(),
    sites: await s.sites.set(),
    history: await s.sites.history('depot'),
    events: await s.events.query({}),
    segments: await s.drives.segments({}),
    text: await s.drives.text('bus-7', 'd.jsonl'),
    fleet: await s.fleet.load(),
    operators: await s.operators.active(),
  };
}

for (const [from, to] of [['sqlite', 'postgres'], ['postgres', 'sqlite'], ['postgres', 'postgres']] as Array<[Backend, Backend]>) {
  test(`backup ${from} while it ingests, restore into an empty ${to}: the same contents, sequences go on`, async (t) => {
    const a = await fresh(t, from);
    await fill(a);
    const file = join(a.cfg.state_dir, '..', 'hq.backup');
    // Events keep arriving during the backup: the file holds one snapshot, whole rows, each once.
    let n = 1000;
    let writing = true;
    const writer = (async () => {
      // A turn of the event loop between writes, as requests arriving over HTTP give (SQLite's calls never yield).
      while (writing) await a.events.ingest([ev(n++)]).then(() => sleep(1));
    })();
    const { backup, restore } = await import('../../concentrator/store/backup.js');
    const r = await backup(a.parts, a.kind, file);
    writing = false;
    await writer;
    assert.equal(r.rows.vehicles, 2);
    assert.equal(r.rows.operators, 2, 'operators in the backup, the removed one too (it must not come back from an old file)');
    assert.ok(r.rows.switch_events! >= 300 && r.rows.switch_events! < 300 + (n - 1000) + 1, JSON.stringify(r.rows));
    const b = await fresh(t, to);
    const back = await restore(b.parts, file);
    assert.deepEqual(back.rows, r.rows);
    const want = await contents(a);
    want.events = want.events.filter((e) => e.seq! < 1000 || r.rows.switch_events! > 300 + (e.seq! - 1000));
    assert.deepEqual(await contents(b), want);
    // Ids go on after the restored ones.
    const next = (await b.vehicles.add({ name: 'van-2', subnet: '10.20.9.0/24', publicKey: K(3) })).vehicle;
    assert.equal(next.tunnel_address, '10.99.0.3');
    await b.sites.update('depot', { profile: { hold_ms: 1000 } }, 'cli:bob');
    assert.equal(await b.sites.version(), 3);
    await b.events.ingest([ev(5000)]);
    assert.equal((await b.events.last('bus-7'))!.rowid, (await b.events.maxRowid()));
    assert.ok((await b.events.maxRowid()) > Math.max(...want.events.map((e) => e.rowid)));
    // Restore goes into an empty store only.
    await assert.rejects(restore(b.parts, file), /FILE: the store is not empty \(vehicles has 3 rows\)/);
  });
}

test('restore refuses a file that is not a backup, and a bad line leaves the store empty', async (t) => {
  const s = await fresh(t, 'sqlite');
  const { restore } = await import('../../concentrator/store/backup.js');
  const { writeFileSync } = await import('node:fs');
  const { gzipSync } = await import('node:zlib');
  const bad = join(s.cfg.state_dir, '..', 'bad.gz');
  writeFileSync(bad, gzipSync('hello\n'));
  await assert.rejects(restore(s.parts, bad), /is not a roamlink HQ backup/);
  writeFileSync(bad, gzipSync(`${JSON.stringify({ format: 'roamlink-hq-backup', version: 1 })}\n${JSON.stringify({ t: 'vehicles', r: { id: 1, name: 'a', public_key: K(1), tunnel_address: '10.99.0.2', subnet: '10.20.1.0/24', site: null, created_at: 'x', revoked_at: null } })}\n{"t":"nope","r":{}}\n`));
  await assert.rejects(restore(s.parts, bad), /line 3 is not a row of a known table/);
  assert.deepEqual(await s.vehicles.list(), [], 'nothing of it stayed');
});

for (const kind of BACKENDS) {
  test(`${kind}: HQ answers 202 and dies before its commit: the agent's journal keeps the events and ships them to the next HQ, each stored once`, async (t) => {
    const s = await fresh(t, kind);
    const timer = new SimClock();
    const j = Journal.open(':memory:');
    let hq = hqProcess(s.events);
    // An agent that asks for the mark at once (no grace): the GET's path; the mark carried in answers is the next test.
    const shipper = new Shipper({ journal: j, send: (x) => hq.send(x), durable: (w) => hq.durable(w), timer, random: () => 0, durableGraceMs: 0 });
    t.after(() => shipper.stop());
    const until = async (what: string, ok: () => boolean) => {
      for (let i = 0; i < 400 && !ok(); i++) await sleep(5);
      assert.ok(ok(), what);
    };
    const journal = (n: number) => j.append({ id: uuid(n), vehicle: 'bus-7', at: new Date(T0 + n * 1000).toISOString(), from: 'wlan0', to: 'wlan1', reason: 'signal' });
    for (const n of [1, 2]) journal(n);
    shipper.kick();
    await until('1 and 2 durable', () => j.backlog() === 0 && shipper.state === 'idle');
    hq.g.hold();
    for (const n of [3, 4, 5]) journal(n);
    shipper.kick();
    await until('3 to 5 accepted', () => shipper.awaitingDurable === 3 && hq.g.held.length === 1);
    assert.equal(j.backlog(), 3, 'accepted is not durable: kept in the journal');
    hq.kill();
    await until('the dead HQ\'s durable mark never came', () => shipper.state === 'waiting');
    assert.deepEqual((await s.events.query({ vehicle: 'bus-7' })).map((e) => e.seq), [1, 2], 'the dead HQ committed none of them');
    hq = hqProcess(s.events);
    timer.advance(60_000);
    await until('3 to 5 durable at the next HQ', () => j.backlog() === 0 && shipper.state === 'idle');
    assert.deepEqual((await s.events.query({ vehicle: 'bus-7' })).map((e) => e.seq), [1, 2, 3, 4, 5], 'each once');
  });
}

for (const kind of BACKENDS) {
  test(`${kind}: HQ restarts between its 202 and its commit: the next answer's mark (another epoch) makes the agent ship again, without a GET; each stored once`, async (t) => {
    const s = await fresh(t, kind);
    const timer = new SimClock();
    const j = Journal.open(':memory:');
    let hq = hqProcess(s.events);
    const shipper = new Shipper({ journal: j, send: (x) => hq.send(x), durable: (w) => hq.durable(w), timer, random: () => 0 });
    t.after(() => shipper.stop());
    const until = async (what: string, ok: () => boolean) => {
      for (let i = 0; i < 400 && !ok(); i++) await sleep(5);
      assert.ok(ok(), what);
    };
    const journal = (n: number) => j.append({ id: uuid(n), vehicle: 'bus-7', at: new Date(T0 + n * 1000).toISOString(), from: 'wlan0', to: 'wlan1', reason: 'signal' });
    hq.g.hold();
    for (const n of [1, 2, 3]) journal(n);
    shipper.kick();
    await until('1 to 3 accepted', () => shipper.awaitingDurable === 3 && hq.g.held.length === 1);
    hq.kill();
    const dead = hq;
    hq = hqProcess(s.events);
    journal(4);
    shipper.kick();
    await until('4, then 1 to 3 again, accepted by the next HQ', () => hq.posts === 2 && shipper.state === 'waiting');
    await until('committed', () => hq.gc.mark().upto === 2);
    shipper.observe((await hq.heartbeat()) as DurableMark);
    await until('all durable', () => j.backlog() === 0 && shipper.state === 'idle');
    assert.deepEqual([dead.gets, hq.gets], [0, 0], 'the marks came in answers');
    assert.deepEqual((await s.events.query({ vehicle: 'bus-7' })).map((e) => e.seq), [1, 2, 3, 4], 'each once');
  });
}
