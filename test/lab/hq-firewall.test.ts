// Lab test of HQ's firewall (table inet roamlink_hq, issue 12 item 3) with two vehicles: a vehicle reaches HQ's LAN
// (firewall.vehicle_to, default lan_subnets) but not the other vehicle's LAN or tunnel address unless vehicle_to_vehicle,
// and never HQ's admin port through the tunnel. A control with the table deleted shows each check can fail.
//
//   rlt-fwa-PID (car-a)                rlt-fwh-PID (roamlink hq)                     rlt-fwb-PID (car-b)
//   wg rlfa<PID> 10.98.0.2             wg rlfh<PID> 10.98.0.1/24 :51820              wg rlfb<PID> 10.98.0.3
//   LAN 10.21.1.1 (lo)                 routes 10.21.1.0/24, 10.21.2.0/24 (proto 82)  LAN 10.21.2.1 (lo)
//   a0 192.0.2.2 ──────── veth ──────── h0 192.0.2.1      h1 198.51.100.1 ──── veth ── b0 198.51.100.2
//                                      l0 192.168.60.1 (admin HTTPS :8443)
//                                        │ veth
//                                      rlt-fwl-PID: HQ's LAN host 192.168.60.2
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from '../../shared/exec.js';
import { killNetnsPids } from '../../lab/topology.js';
import { createWg, wireguardGoSocket } from '../../shared/wg.js';
import { controlRequest } from '../../shared/control.js';
import { tcpFrom } from './lab.helpers.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NS = { hq: `rlt-fwh-${process.pid}`, a: `rlt-fwa-${process.pid}`, b: `rlt-fwb-${process.pid}`, lan: `rlt-fwl-${process.pid}` };
const IF = { hq: `rlfh${process.pid}`, a: `rlfa${process.pid}`, b: `rlfb${process.pid}` };
const notRoot = process.getuid?.() !== 0 && 'needs root (network namespaces, WireGuard, nftables)';
const wg = createWg();

async function until(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function exited(p: ChildProcess, ms: number): Promise<boolean> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve(true);
  return Promise.race([new Promise<boolean>((r) => p.once('exit', () => r(true))), sleep(ms, false, { ref: false })]);
}

/** One ping from `ns` (source `from`) to `to`, 1 s at most: true when answered. */
const ping = async (ns: string, from: string, to: string) => (await run(['ping', '-c', '1', '-W', '1', '-I', from, to], { netns: ns, allowFail: true })).exitCode === 0;
const tcp = tcpFrom;

test("HQ's firewall with two vehicles: HQ's LAN yes, the other vehicle no (unless configured), the admin port never through the tunnel", { skip: notRoot, timeout: 60_000 }, async (t: TestContext) => {
  const dir = mkdtempSync(join(tmpdir(), 'rlt-fw-'));
  const proc: { daemon: ChildProcess | null } = { daemon: null };
  let log = '';
  t.after(async () => {
    const d = proc.daemon;
    if (d && d.exitCode === null && d.signalCode === null) {
      d.kill('SIGUSR2'); // a stop for good: the interface and the probe echo go too
      if (!(await exited(d, 5000))) d.kill('SIGKILL');
    }
    for (const k of ['hq', 'a', 'b'] as const) await wg.deleteInterface(IF[k], { netns: NS[k] }).catch(() => {});
    for (const ns of Object.values(NS)) {
      await killNetnsPids(ns);
      await run(['ip', 'netns', 'del', ns], { allowFail: true });
    }
    for (const i of Object.values(IF)) rmSync(wireguardGoSocket(i), { force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  for (const ns of Object.values(NS)) {
    await run(['ip', 'netns', 'add', ns]);
    await run(['ip', '-n', ns, 'link', 'set', 'dev', 'lo', 'up']);
  }
  for (const [hqDev, ns, dev, net] of [['h0', NS.a, 'a0', '192.0.2'], ['h1', NS.b, 'b0', '198.51.100'], ['l0', NS.lan, 'lan0', '192.168.60']] as const) {
    await run(['ip', '-n', NS.hq, 'link', 'add', 'name', hqDev, 'type', 'veth', 'peer', 'name', dev, 'netns', ns]);
    await run(['ip', '-n', NS.hq, 'addr', 'add', `${net}.1/24`, 'dev', hqDev]);
    await run(['ip', '-n', ns, 'addr', 'add', `${net}.2/24`, 'dev', dev]);
    await run(['ip', '-n', NS.hq, 'link', 'set', 'dev', hqDev, 'up']);
    await run(['ip', '-n', ns, 'link', 'set', 'dev', dev, 'up']);
  }
  await run(['ip', '-n', NS.lan, 'route', 'add', 'default', 'via', '192.168.60.1']);
  await run(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'], { netns: NS.hq });

  // HQ with its admin listener (HTTPS) on its LAN address.
  writeFileSync(join(dir, 'hq.key'), `${await wg.genKey()}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'admin.token'), 'fw-test-token-0123456789abcdef\n', { mode: 0o600 });
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=hq',
    '-addext', 'subjectAltName=IP:192.168.60.1', '-keyout', join(dir, 'admin.key'), '-out', join(dir, 'admin.crt')], { stdio: 'ignore' });
  chmodSync(join(dir, 'admin.key'), 0o600);
  const config = join(dir, 'hq.yaml');
  const writeConfig = (vehicleToVehicle: boolean) => writeFileSync(config, [`interface: ${IF.hq}`, 'private_key_file: hq.key', 'tunnel_network: 10.98.0.0/24', 'state_dir: state',
    'control_socket: hq.sock', 'lan_subnets: [192.168.60.0/24]', 'admin_listen: 192.168.60.1:8443', 'admin_tls: { cert: admin.crt, key: admin.key }',
    'admin_token_file: admin.token', `firewall: { vehicle_to_vehicle: ${vehicleToVehicle} }`, ''].join('\n'));
  const start = async () => {
    log = '';
    const d = spawn('ip', ['netns', 'exec', NS.hq, 'node', join(ROOT, 'bin/roamlink'), 'hq', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    for (const s of [d.stdout!, d.stderr!]) s.on('data', (c: Buffer) => (log += c));
    proc.daemon = d;
    await until('the concentrator to answer', 20_000, async () => {
      if (d.exitCode !== null) throw new Error(`roamlink hq exited ${d.exitCode}: ${log}`);
      return (await controlRequest(join(dir, 'hq.sock'), 'GET', '/v1/health', { timeoutMs: 2000 }).catch(() => null))?.status === 200;
    });
  };
  writeConfig(false);
  await start();

  // Two vehicles, each with the key `vehicle add` made, its tunnel and a LAN address of its own.
  for (const [name, k, subnet, outer] of [['car-a', 'a', '10.21.1', '192.0.2.1'], ['car-b', 'b', '10.21.2', '198.51.100.1']] as const) {
    const added = await run(['node', join(ROOT, 'bin/roamlink'), 'vehicle', 'add', name, '--make-key', '--subnet', `${subnet}.0/24`, '--json', '--config', config], { netns: NS.hq });
    const v = JSON.parse(added.stdout) as { tunnel_address: string; private_key_file: string; concentrator: { public_key: string; listen_port: number } };
    await wg.createInterface(IF[k], { netns: NS[k] });
    await wg.setPrivateKey(IF[k], readFileSync(v.private_key_file, 'utf8'), { netns: NS[k] });
    await wg.setPeer(IF[k], { publicKey: v.concentrator.public_key, allowedIps: ['10.98.0.0/24', '192.168.60.0/24', '10.21.0.0/16'], endpoint: `${outer}:${v.concentrator.listen_port}` }, { netns: NS[k] });
    await run(['ip', 'address', 'add', `${v.tunnel_address}/24`, 'dev', IF[k]], { netns: NS[k] });
    await run(['ip', 'address', 'add', `${subnet}.1/32`, 'dev', 'lo'], { netns: NS[k] });
    await run(['ip', 'link', 'set', 'dev', IF[k], 'up'], { netns: NS[k] });
    for (const dst of ['192.168.60.0/24', '10.21.0.0/16']) await run(['ip', 'route', 'add', dst, 'dev', IF[k]], { netns: NS[k] });
    await until(`${name}'s tunnel`, 10_000, () => ping(NS[k], v.tunnel_address, '10.98.0.1'));
  }

  const checks = async () => ({
    aToHqLan: await ping(NS.a, '10.21.1.1', '192.168.60.2'),
    bToHqLan: await ping(NS.b, '10.21.2.1', '192.168.60.2'),
    aToBLan: await ping(NS.a, '10.21.1.1', '10.21.2.1'),
    aToBTunnel: await ping(NS.a, '10.98.0.2', '10.98.0.3'),
    aToAdmin: await tcp(NS.a, '192.168.60.1', 8443),
    aToAdminViaTunnelAddress: await tcp(NS.a, '10.98.0.1', 8443),
    lanToAdmin: await tcp(NS.lan, '192.168.60.1', 8443),
  });
  const deny = await checks();
  assert.deepEqual(deny, { aToHqLan: true, bToHqLan: true, aToBLan: false, aToBTunnel: false, aToAdmin: 'timeout', aToAdminViaTunnelAddress: 'timeout', lanToAdmin: 'open' }, log);

  // Control: without the table the same checks pass through (so they can fail).
  await run(['nft', 'delete', 'table', 'inet', 'roamlink_hq'], { netns: NS.hq });
  const open = await checks();
  assert.deepEqual(open, { aToHqLan: true, bToHqLan: true, aToBLan: true, aToBTunnel: true, aToAdmin: 'open', aToAdminViaTunnelAddress: 'refused', lanToAdmin: 'open' });

  // Configured: vehicle_to_vehicle lets the vehicles reach each other; the admin port stays out of reach.
  proc.daemon!.kill('SIGTERM');
  assert.ok(await exited(proc.daemon!, 10_000), log);
  writeConfig(true);
  await start();
  const v2v = await checks();
  assert.deepEqual(v2v, { aToHqLan: true, bToHqLan: true, aToBLan: true, aToBTunnel: true, aToAdmin: 'timeout', aToAdminViaTunnelAddress: 'timeout', lanToAdmin: 'open' }, log);
  process.stderr.write(`hq firewall: default ${JSON.stringify(deny)}; table deleted ${JSON.stringify(open)}; vehicle_to_vehicle ${JSON.stringify(v2v)}\n`);
});
