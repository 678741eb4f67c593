// `vehicle add` without --subnet: the lowest free block of the pool (vehicle_subnets), past HQ's LAN, the tunnel,
// reserved ranges and every active vehicle; a revoked vehicle's subnet is free again; a full pool is refused by field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firstFreeSubnet, formatCidr, parseCidr, type Cidr } from '../../concentrator/cidr.js';
import { openDb } from '../../concentrator/store/db.js';
import { VehicleService } from '../../concentrator/store/vehicles/service.js';
import { InputError } from '../../shared/errors.js';

const C = (s: string): Cidr => parseCidr(s)!;
const K = (n: number) => Buffer.alloc(32, n).toString('base64');

test('firstFreeSubnet: given a pool, a size and what is taken, the lowest free aligned block', async () => {
  const table: Array<{ name: string; pool: string[]; prefix?: number; taken: string[]; want: string | null }> = [
    { name: 'empty pool entry', pool: ['10.20.0.0/16'], taken: [], want: '10.20.0.0/24' },
    { name: 'after two', pool: ['10.20.0.0/16'], taken: ['10.20.0.0/24', '10.20.1.0/24'], want: '10.20.2.0/24' },
    { name: 'a gap is filled', pool: ['10.20.0.0/16'], taken: ['10.20.0.0/24', '10.20.2.0/24'], want: '10.20.1.0/24' },
    { name: 'past a /23 vehicle', pool: ['10.20.0.0/16'], taken: ['10.20.0.0/23'], want: '10.20.2.0/24' },
    { name: 'a /26 in the way spoils its /24', pool: ['10.20.0.0/16'], taken: ['10.20.0.64/26'], want: '10.20.1.0/24' },
    { name: 'taken given out of order', pool: ['10.20.0.0/16'], taken: ['10.20.1.0/24', '10.20.0.0/24', '10.20.3.0/24'], want: '10.20.2.0/24' },
    { name: 'a /26 allocation beside a /26', pool: ['10.20.0.0/24'], prefix: 26, taken: ['10.20.0.0/26'], want: '10.20.0.64/26' },
    { name: 'first entry full: the next', pool: ['192.168.50.0/24', '10.20.0.0/16'], taken: ['192.168.50.0/24'], want: '10.20.0.0/24' },
    { name: 'an entry smaller than a block is skipped', pool: ['10.30.0.0/25', '10.31.0.0/16'], taken: [], want: '10.31.0.0/24' },
    { name: 'full', pool: ['10.20.0.0/23'], taken: ['10.20.0.0/24', '10.20.1.0/24'], want: null },
    { name: 'the default pool past HQ LAN and tunnel', pool: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'], taken: ['10.0.0.0/24', '10.0.1.0/24'], want: '10.0.2.0/24' },
    { name: 'a pool holding a whole /8 taken', pool: ['10.0.0.0/8', '172.16.0.0/12'], taken: ['10.0.0.0/8'], want: '172.16.0.0/24' },
  ];
  for (const c of table) {
    const got = firstFreeSubnet(c.pool.map(C), c.prefix ?? 24, c.taken.map(C));
    assert.equal(got && formatCidr(got), c.want, c.name);
  }
  // 10,000 vehicles in 10.0.0.0/8: the next is found in one pass.
  const taken = Array.from({ length: 10_000 }, (_, i) => C(`10.${i >> 8}.${i & 255}.0/24`));
  const t0 = process.hrtime.bigint();
  assert.equal(formatCidr(firstFreeSubnet([C('10.0.0.0/8')], 24, taken)!), '10.39.16.0/24');
  assert.ok(Number(process.hrtime.bigint() - t0) / 1e6 < 2000, 'not quadratic');
});

test('vehicle add without --subnet: the next free /24 of the pool, past HQ LAN; revoked subnets come back; a full pool is refused naming --subnet', async (t) => {
  const db = openDb(':memory:');
  t.after(() => db.close());
  const svc = new VehicleService(db, { tunnelNetwork: '10.99.0.0/24', lanSubnets: ['10.20.1.0/24'], vehicleSubnets: ['10.20.0.0/22'] });
  const add = async (name: string, n: number, extra: { subnet?: string; subnetPrefix?: number } = {}) => (await svc.add({ name, publicKey: K(n), ...extra })).vehicle.subnet;
  assert.equal(await add('a', 1), '10.20.0.0/24');
  assert.equal(await add('b', 2), '10.20.2.0/24', 'HQ LAN 10.20.1.0/24 skipped');
  assert.equal(await add('c', 3, { subnet: '10.20.3.0/24' }), '10.20.3.0/24', 'an explicit subnet as before');
  await assert.rejects(() => add('d', 4), (e: unknown) => e instanceof InputError && e.field === '--subnet' && /no free \/24 left in the vehicle subnet pool \(vehicle_subnets: 10\.20\.0\.0\/22\)/.test(e.message));
  assert.deepEqual((await svc.active()).map((v) => v.name).sort(), ['a', 'b', 'c'], 'nothing stored by the refusal');
  (await svc.revoke('a'));
  assert.equal(await add('d', 4), '10.20.0.0/24', "a's subnet is free again");
  await assert.rejects(() => add('e', 5, { subnetPrefix: 31 }), (e: unknown) => e instanceof InputError && e.field === '--subnet-prefix');
  const small = new VehicleService(openDb(':memory:'), { tunnelNetwork: '10.99.0.0/24', vehicleSubnets: ['10.40.0.0/24'] });
  assert.equal((await small.add({ name: 'x', publicKey: K(9), subnetPrefix: 26 })).vehicle.subnet, '10.40.0.0/26');
  assert.equal((await small.add({ name: 'y', publicKey: K(10), subnetPrefix: 26 })).vehicle.subnet, '10.40.0.64/26');
});
