// The agents' callers from memory (store/vehicles/callers.ts): when the map answers and when the store does, with a
// change feed the test moves by hand (the real feeds, SQLite's data_version and PostgreSQL's LISTEN: store.backends.test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { openDb } from '../../concentrator/store/db.js';
import { sqliteStore } from '../../concentrator/store/sql.js';
import { CallerCache, readCallers, type RegistryWatch } from '../../concentrator/store/vehicles/callers.js';
import { addressLookup, VehicleService } from '../../concentrator/store/vehicles/service.js';

const K = (n: number) => Buffer.alloc(32, n).toString('base64');

async function setup() {
  const store = sqliteStore(openDb(':memory:'));
  const vehicles = new VehicleService(store, { tunnelNetwork: '10.99.0.0/24' });
  await vehicles.add({ name: 'bus-7', subnet: '10.20.7.0/24', publicKey: K(1) });
  let version: number | null = 1;
  const watch: RegistryWatch = { version: () => version, close: async () => {} };
  const lookup = addressLookup(store);
  let asked = 0;
  /** A read of the map can be held (gate) to change things while it is under way. */
  let gate: Promise<void> | null = null;
  const read = readCallers(store);
  const cache = new CallerCache(async () => {
    const rows = await read();
    await gate;
    return rows;
  }, watch, (a) => (asked++, lookup(a)));
  /** Lets a background read of the map finish. */
  const settle = async () => {
    for (let i = 0; i < 5; i++) await tick();
  };
  return { store, vehicles, cache, setVersion: (v: number | null) => (version = v), asked: () => asked, settle, hold: (g: Promise<void> | null) => (gate = g) };
}

test('callers: the first lookup asks the store and has the map read; then the map answers, unknown addresses too', async () => {
  const s = await setup();
  assert.deepEqual(await s.cache.lookup('10.99.0.2'), { name: 'bus-7' });
  assert.equal(s.asked(), 1);
  await s.settle();
  assert.deepEqual(await s.cache.lookup('10.99.0.2'), { name: 'bus-7' });
  assert.equal(await s.cache.lookup('10.99.0.9'), null);
  assert.equal(s.asked(), 1, 'both from the map');
  assert.deepEqual(s.cache.stats, { hits: 2, misses: 1, loads: 1 });
});

test('callers: another version (a change by another connection): the store answers until the map is read again, then the map has the change', async () => {
  const s = await setup();
  await s.cache.lookup('10.99.0.2');
  await s.settle();
  // Revoked behind the cache's back (another process), and the feed says so.
  await s.store.db.updateTable('vehicles').set({ revoked_at: '2026-12-04T09:00:00Z' }).where('name', '=', 'bus-7').execute();
  assert.deepEqual(await s.cache.lookup('10.99.0.2'), { name: 'bus-7' }, 'no word from the feed yet: the map (as the feed promises nothing changed)');
  s.setVersion(2);
  assert.equal(await s.cache.lookup('10.99.0.2'), null, 'asked the store');
  assert.equal(s.asked(), 2);
  await s.settle();
  assert.equal(await s.cache.lookup('10.99.0.2'), null);
  assert.equal(s.asked(), 2, 'from the map read at version 2');
});

test('callers: the feed down (version null): every lookup asks the store and no map is read', async () => {
  const s = await setup();
  s.setVersion(null);
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(await s.cache.lookup('10.99.0.2'), { name: 'bus-7' });
    await s.settle();
  }
  assert.deepEqual(s.cache.stats, { hits: 0, misses: 3, loads: 0 });
});

test('callers: invalidate() while the map is being read: that map is never used; the next read is', async () => {
  const s = await setup();
  let release!: () => void;
  s.hold(new Promise<void>((r) => (release = r)));
  await s.cache.lookup('10.99.0.2'); // starts the read, held after its rows are in
  s.cache.invalidate(); // this process changed the registry meanwhile
  s.hold(null);
  release();
  await s.settle();
  await s.cache.lookup('10.99.0.2');
  assert.equal(s.asked(), 2, 'the map read before the change was not trusted');
  await s.settle();
  await s.cache.lookup('10.99.0.2');
  assert.equal(s.asked(), 2, 'the map read after it is');
});

test('callers: VehicleService given a feed answers from the map and drops it at its own add and revoke, before they resolve', async () => {
  const store = sqliteStore(openDb(':memory:'));
  const watch: RegistryWatch = { version: () => 1, close: async () => {} };
  const vehicles = new VehicleService(store, { tunnelNetwork: '10.99.0.0/24', watch });
  await vehicles.add({ name: 'bus-7', subnet: '10.20.7.0/24', publicKey: K(1) });
  const settle = async () => {
    for (let i = 0; i < 5; i++) await tick();
  };
  await vehicles.byAddress('10.99.0.2');
  await settle();
  assert.deepEqual(await vehicles.byAddress('10.99.0.2'), { name: 'bus-7' });
  assert.equal(vehicles.callerStats()!.hits, 1);
  await vehicles.add({ name: 'van-2', subnet: '10.20.8.0/24', publicKey: K(2) });
  assert.deepEqual(await vehicles.byAddress('10.99.0.3'), { name: 'van-2' }, 'added: known at once');
  await settle();
  await vehicles.revoke('bus-7');
  assert.equal(await vehicles.byAddress('10.99.0.2'), null, 'revoked: nobody at once');
  // A refused change drops the map too (harmless), and answers stay right.
  await assert.rejects(vehicles.revoke('bus-7'), /already revoked/);
  assert.equal(await vehicles.byAddress('10.99.0.2'), null);
  assert.equal(new VehicleService(store, { tunnelNetwork: '10.99.0.0/24' }).callerStats(), null, 'no feed: not cached');
});
