// The vehicle registry on a temporary SQLite file: allocation, every refusal (and the registry left unchanged), revocation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIGRATIONS, openDb, schemaVersion } from '../../concentrator/store/db.js';
import { VehicleService } from '../../concentrator/store/vehicles/service.js';

const K = (n: number) => Buffer.alloc(32, n).toString('base64'); // distinct valid keys
const HQ_KEY = K(200);
const PRIV = K(201);

function setup(t: { after: (fn: () => void) => void }, tunnel = '10.99.0.0/24') {
  const dir = mkdtempSync(join(tmpdir(), 'rl-vstore-'));
  const db = openDb(join(dir, 'state', 'registry.sqlite'));
  t.after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  let clock = Date.parse('2026-11-21T10:00:00Z');
  const svc = new VehicleService(db, {
    tunnelNetwork: tunnel, lanSubnets: ['192.168.10.0/24'], hqPublicKey: HQ_KEY, keysDir: join(dir, 'state', 'keys'),
    now: () => new Date((clock += 1000)),
  });
  return { dir, db, svc };
}

test('the database: WAL, schema version recorded, reopening migrates nothing', async (t) => {
  const { dir, db } = setup(t);
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(schemaVersion(db), MIGRATIONS[MIGRATIONS.length - 1]!.version);
  const again = openDb(join(dir, 'state', 'registry.sqlite'));
  assert.equal(schemaVersion(again), 5, "version 5: HQ's key");
  assert.equal((again.prepare('SELECT COUNT(*) AS n FROM schema_version').get() as { n: number }).n, MIGRATIONS.length, 'each step once');
  again.close();
});

test('addresses: lowest free, never HQ, freed by revocation, reused after it', async (t) => {
  const { svc } = setup(t);
  const a = (await svc.add({ name: 'a', subnet: '10.20.1.0/24', publicKey: K(1) })).vehicle;
  const b = (await svc.add({ name: 'b', subnet: '10.20.2.0/24', publicKey: K(2), site: 'depot' })).vehicle;
  const c = (await svc.add({ name: 'c', subnet: '10.20.3.0/24', publicKey: K(3) })).vehicle;
  assert.deepEqual([a.tunnel_address, b.tunnel_address, c.tunnel_address], ['10.99.0.2', '10.99.0.3', '10.99.0.4']);
  assert.equal(b.site, 'depot');
  assert.equal(a.created_at, '2026-11-21T10:00:01.000Z');
  (await svc.revoke('b'));
  const d = (await svc.add({ name: 'd', subnet: '10.20.2.0/24', publicKey: K(4) })).vehicle;
  assert.equal(d.tunnel_address, '10.99.0.3', 'the lowest free address, freed by the revocation');
  assert.deepEqual((await svc.active()).map((v) => v.name), ['a', 'c', 'd']);
  assert.deepEqual((await svc.list()).map((v) => [v.name, v.revoked_at !== null]), [['a', false], ['b', true], ['c', false], ['d', false]]);
});

test('refusals name the field and leave the registry unchanged', async (t) => {
  const { svc, dir } = setup(t);
  (await svc.add({ name: 'bus-7', subnet: '10.20.0.0/16', publicKey: K(1) }));
  (await svc.add({ name: 'x', subnet: '10.30.0.0/24', publicKey: K(2) }));
  (await svc.add({ name: 'gone', subnet: '10.40.0.0/24', publicKey: K(3) }));
  (await svc.revoke('gone'));
  const before = JSON.stringify((await svc.list()));
  const table: Array<{ name: string; input: Parameters<VehicleService['add']>[0]; want: string }> = [
    { name: 'bad CIDR', input: { name: 'n', subnet: '10.20.1.0/33', publicKey: K(9) }, want: '--subnet: 10.20.1.0/33 is not an IPv4 CIDR' },
    { name: 'not a CIDR', input: { name: 'n', subnet: 'depot', publicKey: K(9) }, want: '--subnet: depot is not an IPv4 CIDR' },
    { name: 'host bits set', input: { name: 'n', subnet: '10.50.1.1/24', publicKey: K(9) }, want: '--subnet: 10.50.1.1/24 is not a network address' },
    { name: 'overlaps a vehicle', input: { name: 'n', subnet: '10.20.1.0/24', publicKey: K(9) }, want: '--subnet: 10.20.1.0/24 overlaps vehicle "bus-7" (10.20.0.0/16)' },
    { name: 'contains the tunnel network', input: { name: 'n', subnet: '10.0.0.0/8', publicKey: K(9) }, want: '--subnet: 10.0.0.0/8 overlaps the tunnel network 10.99.0.0/24' },
    { name: 'overlaps the tunnel', input: { name: 'n', subnet: '10.99.0.128/25', publicKey: K(9) }, want: '--subnet: 10.99.0.128/25 overlaps the tunnel network' },
    { name: 'overlaps HQ LAN', input: { name: 'n', subnet: '192.168.0.0/16', publicKey: K(9) }, want: '--subnet: 192.168.0.0/16 overlaps HQ LAN 192.168.10.0/24' },
    { name: 'duplicate name', input: { name: 'x', subnet: '10.50.0.0/24', publicKey: K(9) }, want: 'NAME: vehicle "x" already exists' },
    { name: 'bad name', input: { name: 'Bus 7', subnet: '10.50.0.0/24', publicKey: K(9) }, want: 'NAME: "Bus 7" is not a vehicle name' },
    { name: 'name too long', input: { name: 'a'.repeat(64), subnet: '10.50.0.0/24', publicKey: K(9) }, want: 'NAME: "aaaa' },
    { name: 'duplicate key', input: { name: 'n', subnet: '10.50.0.0/24', publicKey: K(2) }, want: '--pubkey: already registered to vehicle "x"' },
    { name: 'revoked key stays burned', input: { name: 'n', subnet: '10.50.0.0/24', publicKey: K(3) }, want: '--pubkey: already registered to vehicle "gone" (revoked' },
    { name: "HQ's own key", input: { name: 'n', subnet: '10.50.0.0/24', publicKey: HQ_KEY }, want: "--pubkey: is the concentrator's own public key" },
    { name: 'malformed key', input: { name: 'n', subnet: '10.50.0.0/24', publicKey: 'abc' }, want: '--pubkey: "abc" is not a WireGuard key' },
    { name: 'bad site', input: { name: 'n', subnet: '10.50.0.0/24', publicKey: K(9), site: '' }, want: '--site: "" is not a site name' },
    { name: 'public range', input: { name: 'n', subnet: '8.8.8.0/24', publicKey: K(9) }, want: '--subnet: 8.8.8.0/24 is not inside the vehicle subnet pool (vehicle_subnets: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)' },
    { name: 'loopback', input: { name: 'n', subnet: '127.0.0.0/8', publicKey: K(9) }, want: "--subnet: 127.0.0.0/8 overlaps 127.0.0.0/8 (loopback): a reserved range is never a vehicle's LAN" },
    { name: 'multicast', input: { name: 'n', subnet: '224.0.0.0/4', publicKey: K(9) }, want: '--subnet: 224.0.0.0/4 overlaps 224.0.0.0/4 (multicast)' },
    { name: 'link-local', input: { name: 'n', subnet: '169.254.7.0/24', publicKey: K(9) }, want: '--subnet: 169.254.7.0/24 overlaps 169.254.0.0/16 (link-local)' },
    { name: 'CGNAT', input: { name: 'n', subnet: '100.64.1.0/24', publicKey: K(9) }, want: '--subnet: 100.64.1.0/24 overlaps 100.64.0.0/10 (shared address space' },
    { name: 'everything', input: { name: 'n', subnet: '0.0.0.0/0', publicKey: K(9) }, want: '--subnet: 0.0.0.0/0 overlaps 0.0.0.0/8' },
  ];
  for (const { name, input, want } of table) {
    await assert.rejects(async () => (await svc.add(input)), (e: Error) => {
      assert.equal(e.name, 'InputError', name);
      assert.ok(e.message.startsWith(want), `${name}: got "${e.message}"`);
      return true;
    });
    assert.equal(JSON.stringify((await svc.list())), before, `${name}: registry unchanged`);
  }
  assert.equal(existsSync(join(dir, 'state', 'keys')), false, 'no key file for refused commands');
});

test('a configured pool: a subnet outside it is refused naming the pool; inside it is taken', async (t) => {
  const db = openDb(':memory:');
  t.after(() => db.close());
  const svc = new VehicleService(db, { tunnelNetwork: '10.99.0.0/24', vehicleSubnets: ['10.20.0.0/16', '172.20.0.0/16'] });
  await assert.rejects(async () => (await svc.add({ name: 'n', subnet: '10.30.0.0/24', publicKey: K(9) })), /--subnet: 10\.30\.0\.0\/24 is not inside the vehicle subnet pool \(vehicle_subnets: 10\.20\.0\.0\/16, 172\.20\.0\.0\/16\)/);
  await assert.rejects(async () => (await svc.add({ name: 'n', subnet: '10.20.0.0/15', publicKey: K(9) })), /not inside the vehicle subnet pool/);
  assert.equal((await svc.add({ name: 'a', subnet: '10.20.7.0/24', publicKey: K(1) })).vehicle.subnet, '10.20.7.0/24');
  assert.equal((await svc.add({ name: 'b', subnet: '172.20.1.0/24', publicKey: K(2) })).vehicle.subnet, '172.20.1.0/24');
  assert.throws(() => new VehicleService(db, { tunnelNetwork: '10.99.0.0/24', vehicleSubnets: ['10.20.0.1/16'] }), /vehicle_subnets\[0\]: 10\.20\.0\.1\/16 is not a network address/);
});

test('a revoked name may be registered again (new key, new row); the old one stays in the history', async (t) => {
  const { svc } = setup(t);
  (await svc.add({ name: 'bus-7', subnet: '10.20.7.0/24', publicKey: K(1) }));
  (await svc.revoke('bus-7'));
  const again = (await svc.add({ name: 'bus-7', subnet: '10.20.7.0/24', publicKey: K(2) })).vehicle;
  assert.equal((await svc.get('bus-7'))!.public_key, K(2));
  assert.equal(again.revoked_at, null);
  assert.equal((await svc.list()).length, 2);
});

test('revoke: unknown and twice are refused, naming NAME', async (t) => {
  const { svc } = setup(t);
  await assert.rejects(async () => (await svc.revoke('nope')), { name: 'InputError', message: 'NAME: no vehicle "nope"' });
  (await svc.add({ name: 'a', subnet: '10.20.1.0/24', publicKey: K(1) }));
  const r = (await svc.revoke('a'));
  assert.equal(r.revoked_at, '2026-11-21T10:00:02.000Z');
  await assert.rejects(async () => (await svc.revoke('a')), /NAME: vehicle "a" is already revoked \(2026-11-21T10:00:02.000Z\)/);
  await assert.rejects(async () => (await svc.require('zz')), /NAME: no vehicle "zz"/);
});

test('a generated private key is stored mode 0600 with the row, and only then', async (t) => {
  const { svc, dir } = setup(t);
  const added = (await svc.add({ name: 'car', subnet: '10.20.1.0/24', publicKey: K(1), privateKey: PRIV }));
  assert.equal(added.privateKeyFile, join(dir, 'state', 'keys', 'car.key'));
  assert.equal(readFileSync(added.privateKeyFile!, 'utf8'), `${PRIV}\n`);
  assert.equal(statSync(added.privateKeyFile!).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, 'state', 'keys')).mode & 0o777, 0o700);
  assert.ok(!JSON.stringify(added.vehicle).includes(PRIV));
  await assert.rejects(async () => (await svc.add({ name: 'car2', subnet: '10.20.1.0/24', publicKey: K(2), privateKey: K(202) })), /overlaps/);
  assert.deepEqual(readdirSync(join(dir, 'state', 'keys')), ['car.key']);
});

test('a full tunnel network is refused (not an input error) and nothing is stored', async (t) => {
  const { svc } = setup(t, '10.99.0.0/30'); // HQ .1, one vehicle .2
  (await svc.add({ name: 'a', subnet: '10.20.1.0/24', publicKey: K(1) }));
  await assert.rejects(async () => (await svc.add({ name: 'b', subnet: '10.20.2.0/24', publicKey: K(2) })), (e: Error) => e.name === 'Error' && /is full/.test(e.message));
  assert.equal((await svc.list()).length, 1);
});
