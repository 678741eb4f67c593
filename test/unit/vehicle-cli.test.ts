// The `roamlink hq --check` / `hq pubkey` / `vehicle …` commands as a user runs them: exit codes, field-named errors, JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from '../../concentrator/app.js';
import { openDb } from '../../concentrator/store/db.js';
import { VehicleService } from '../../concentrator/store/vehicles/service.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const HQ_PRIV = 'KPD+e8mvLdOOI+Wl9HYVjuOXj4U/izotj3qE2CZTbUA=';
const HQ_PUB = 'vBwEETu5b+Q42o8jdYbZf9+mTrdGdXZWs4hvdqy4WX4=';
const K = (n: number) => Buffer.alloc(32, n).toString('base64');

interface Ran { code: number; stdout: string; stderr: string }
function roamlink(...args: string[]): Promise<Ran> {
  return new Promise((resolve) => {
    execFile('node', [join(ROOT, 'bin/roamlink'), ...args], { cwd: ROOT }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

function setup(t: { after: (fn: () => void) => void }): { dir: string; config: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rl-vcli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'hq.key'), `${HQ_PRIV}\n`, { mode: 0o600 });
  const config = join(dir, 'hq.yaml');
  writeFileSync(config, `interface: rl-test0\nprivate_key_file: hq.key\ntunnel_network: 10.99.0.0/24\nstate_dir: state\ncontrol_socket: hq.sock\nlan_subnets: [192.168.10.0/24]\n`);
  return { dir, config };
}

const hasWg = (() => {
  try {
    return statSync('/usr/bin/wg').isFile();
  } catch {
    return false;
  }
})();

test('hq --check: 0 on a good config, 2 naming the field on a bad one', async (t) => {
  const { dir, config } = setup(t);
  const ok = await roamlink('hq', '--check', '--config', config);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /ok \(interface rl-test0, tunnel 10\.99\.0\.0\/24, HQ 10\.99\.0\.1\)/);
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'interface: rl-test0\nprivate_key_file: hq.key\ntunnel_network: 10.99.0.0/33\nstate_dir: state\n');
  const r = await roamlink('hq', '--check', '--config', bad);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /tunnel_network: not an IPv4 CIDR/);
  const missing = await roamlink('hq', '--check', '--config', join(dir, 'nope.yaml'));
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--config: cannot read/);
});

test('vehicle add/list/show/revoke without a daemon', { skip: !hasWg && 'needs wg' }, async (t) => {
  const { dir, config } = setup(t);
  const add = await roamlink('vehicle', 'add', 'bus-7', '--make-key', '--subnet', '10.20.0.0/16', '--site', 'depot', '--json', '--config', config);
  assert.equal(add.code, 0, add.stderr);
  const j = JSON.parse(add.stdout) as Record<string, unknown>;
  assert.deepEqual(Object.keys(j), ['name', 'public_key', 'tunnel_address', 'subnet', 'site', 'concentrator', 'private_key_file']);
  assert.deepEqual(
    { ...j, public_key: typeof j.public_key },
    {
      name: 'bus-7', public_key: 'string', tunnel_address: '10.99.0.2', subnet: '10.20.0.0/16', site: 'depot',
      concentrator: { public_key: HQ_PUB, tunnel_address: '10.99.0.1', listen_port: 51820 }, private_key_file: join(dir, 'state/keys/bus-7.key'),
    },
  );
  const priv = readFileSync(join(dir, 'state/keys/bus-7.key'), 'utf8').trim();
  assert.equal(statSync(join(dir, 'state/keys/bus-7.key')).mode & 0o777, 0o600);
  assert.ok(!add.stdout.includes(priv) && !add.stderr.includes(priv), 'the private key is never printed');
  assert.match(add.stderr, /no concentrator is running on .*hq\.sock: the change will be programmed when it starts/);

  const withKey = await roamlink('vehicle', 'add', 'car-1', '--subnet', '10.21.0.0/24', '--pubkey', K(1), '--config', config);
  assert.equal(withKey.code, 0, withKey.stderr);
  assert.match(withKey.stdout, /vehicle car-1 added: tunnel address 10\.99\.0\.3, subnet 10\.21\.0\.0\/24/);
  assert.doesNotMatch(withKey.stdout, /private key/);

  const refusals: Array<[string[], RegExp]> = [
    [['vehicle', 'add', 'x', '--make-key', '--subnet', '10.20.1.0/33'], /--subnet: 10\.20\.1\.0\/33 is not an IPv4 CIDR/],
    [['vehicle', 'add', 'x', '--make-key', '--subnet', '10.20.1.0/24'], /--subnet: 10\.20\.1\.0\/24 overlaps vehicle "bus-7" \(10\.20\.0\.0\/16\)/],
    [['vehicle', 'add', 'x', '--subnet', '10.30.0.0/24', '--pubkey', 'bogus'], /--pubkey: "bogus" is not a WireGuard key/],
    [['vehicle', 'add', 'x', '--subnet', '10.30.0.0/24', '--pubkey', K(1)], /--pubkey: already registered to vehicle "car-1"/],
    [['vehicle', 'add', 'bus-7', '--subnet', '10.30.0.0/24'], /NAME: vehicle "bus-7" already exists/],
    [['vehicle', 'add', 'x', '--make-key', '--subnet-prefix', '31'], /--subnet-prefix: \/31: a vehicle subnet is \/8 to \/30/],
    [['vehicle', 'show', 'nope'], /NAME: no vehicle "nope"/],
    [['vehicle', 'revoke', 'nope'], /NAME: no vehicle "nope"/],
  ];
  for (const [args, want] of refusals) {
    const r = await roamlink(...args, '--config', config);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, want, args.join(' '));
  }

  const list = await roamlink('vehicle', 'list', '--json', '--config', config);
  assert.equal(list.code, 0);
  assert.deepEqual(list.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { name: string }).name), ['bus-7', 'car-1']);
  const table = await roamlink('vehicle', 'list', '--config', config);
  assert.match(table.stdout, /^NAME +STATE +TUNNEL +SUBNET +SITE +PUBLIC KEY\nbus-7 +active +10\.99\.0\.2 +10\.20\.0\.0\/16 +depot /);

  const revoke = await roamlink('vehicle', 'revoke', 'bus-7', '--config', config);
  assert.equal(revoke.code, 0, revoke.stderr);
  const show = await roamlink('vehicle', 'show', 'bus-7', '--json', '--config', config);
  assert.equal(show.code, 0);
  assert.notEqual((JSON.parse(show.stdout) as { revoked_at: string | null }).revoked_at, null);
  const again = await roamlink('vehicle', 'revoke', 'bus-7', '--config', config);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /NAME: vehicle "bus-7" is already revoked/);

  const pub = await roamlink('hq', 'pubkey', '--config', config);
  assert.equal(pub.code, 0, pub.stderr);
  assert.equal(pub.stdout, `${HQ_PUB}\n`);
});

test('vehicle add asks a running concentrator to reconcile over the control socket', { skip: !hasWg && 'needs wg' }, async (t) => {
  const { dir, config } = setup(t);
  let passes = 0;
  const db = openDb(':memory:');
  const app = build({
    vehicles: new VehicleService(db, { tunnelNetwork: '10.99.0.0/24' }),
    reconcile: async () => {
      passes++;
      return { at: 'now', ok: true, changes: [] };
    },
    lastReconcile: () => null,
    health: () => ({ interface: 'rl-test0', implementation: 'wireguard-go', public_key: HQ_PUB, tunnel_address: '10.99.0.1', listen_port: 51820 }),
  });
  await app.listen({ path: join(dir, 'hq.sock') });
  t.after(async () => {
    await app.close();
    db.close();
  });
  const r = await roamlink('vehicle', 'add', 'bus-7', '--subnet', '10.20.0.0/16', '--pubkey', K(3), '--config', config);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /programmed by the running concentrator/);
  assert.equal(passes, 1);
});

test('vehicle revoke exits 1 when the running concentrator cannot apply it, 0 when it can', { skip: !hasWg && 'needs wg' }, async (t) => {
  const { dir, config } = setup(t);
  let ok = false;
  const db = openDb(':memory:');
  const app = build({
    vehicles: new VehicleService(db, { tunnelNetwork: '10.99.0.0/24' }),
    reconcile: async () => (ok ? { at: 'now', ok: true, changes: [] } : { at: 'now', ok: false, changes: [{ change: { kind: 'peer.remove', publicKey: K(3) }, ok: false, error: 'wg: Operation not permitted' }], error: 'wg: Operation not permitted' }),
    lastReconcile: () => null,
    health: () => ({ interface: 'rl-test0', implementation: 'wireguard-go', public_key: HQ_PUB, tunnel_address: '10.99.0.1', listen_port: 51820 }),
  });
  await app.listen({ path: join(dir, 'hq.sock') });
  t.after(async () => {
    await app.close();
    db.close();
  });
  for (const n of [3, 4]) assert.equal((await roamlink('vehicle', 'add', `bus-${n}`, '--subnet', `10.20.${n}.0/24`, '--pubkey', K(n), '--config', config)).code, 0);
  const failed = await roamlink('vehicle', 'revoke', 'bus-3', '--config', config);
  assert.equal(failed.code, 1, failed.stderr);
  assert.match(failed.stderr, /bus-3 is revoked in the registry but NOT yet removed from rl-test0: the concentrator could not apply it \(wg: Operation not permitted\)/);
  ok = true;
  const done = await roamlink('vehicle', 'revoke', 'bus-4', '--config', config);
  assert.equal(done.code, 0, done.stderr);
  assert.match(done.stderr, /removed by the running concentrator/);
});

test('vehicle audit: who issued, cancelled, added and revoked, oldest first; one vehicle with NAME; --json a line each', { skip: !hasWg && 'needs wg' }, async (t) => {
  const { config } = setup(t);
  const env = { ...process.env, SUDO_USER: 'ann' };
  const as = (...args: string[]) => new Promise<Ran>((resolve) => execFile('node', [join(ROOT, 'bin/roamlink'), ...args], { cwd: ROOT, env }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr })));
  for (const args of [['bus-1'], ['bus-1'], ['bus-2', '--pubkey', K(7)]]) {
    const r = await as('vehicle', 'add', ...args, '--subnet', args[0] === 'bus-1' ? '10.20.1.0/24' : '10.20.2.0/24', '--config', config);
    assert.equal(r.code, 0, r.stderr);
  }
  const code = /enrollment code for bus-1: (\S+)/.exec((await as('vehicle', 'add', 'bus-1', '--config', config)).stdout)?.[1];
  assert.ok(code);
  assert.equal((await as('vehicle', 'revoke', 'bus-2', '--config', config)).code, 0);

  const all = await as('vehicle', 'audit', '--config', config);
  assert.equal(all.code, 0, all.stderr);
  const lines = all.stdout.trim().split('\n');
  assert.match(lines[0]!, /^AT\s+WHO\s+ACTION\s+VEHICLE\s+DETAIL$/);
  assert.deepEqual(lines.slice(1).map((l) => l.split(/\s+/).slice(1, 4)), [
    ['ann', 'code', 'bus-1'], ['ann', 'cancelled', 'bus-1'], ['ann', 'code', 'bus-1'], ['ann', 'added', 'bus-2'],
    ['ann', 'cancelled', 'bus-1'], ['ann', 'code', 'bus-1'], ['ann', 'revoked', 'bus-2'],
  ]);
  assert.ok(!all.stdout.includes(code), 'the code itself is never in the audit');

  const one = await as('vehicle', 'audit', 'bus-2', '--json', '--config', config);
  const rows = one.stdout.trim().split('\n').map((l) => JSON.parse(l) as { action: string; vehicle: string; who: string; at: string; detail: string });
  assert.deepEqual(rows.map((r) => [r.action, r.vehicle, r.who]), [['added', 'bus-2', 'ann'], ['revoked', 'bus-2', 'ann']]);
  assert.ok(rows[0]!.at <= rows[1]!.at && rows[0]!.detail.includes(K(7)), JSON.stringify(rows));
  const latest = await as('vehicle', 'audit', '--limit', '1', '--json', '--config', config);
  assert.deepEqual(latest.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { action: string }).action), ['revoked']);

  const bad = await as('vehicle', 'audit', '--limit', '0', '--config', config);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--limit/);
});
