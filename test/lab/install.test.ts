// Lab tests of install.sh (root), the install from a checkout: into a fresh Debian root from debootstrap (debroot.ts),
// both roles, a vehicle enrolled, upgrade, uninstall; and HQ routing as docs/operator-guide.md prescribes it (a LAN
// router with a static route to the concentrator). The package (.deb) under systemd is package.test.ts.
//
// Set ROAMLINK_TEST_SUITE=trixie to try Debian 13, whose own nodejs is 20 (bookworm's is 18: the installer copies Node in).
import { AGENT_NODE_FLAGS } from '../../shared/runtime.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freshRoot, inRoot, ROOT, sh, skip, SUITE, type Ran } from './debroot.js';
import { controlRequest } from '../../shared/control.js';
import { run } from '../../shared/exec.js';
import { killNetnsPids } from '../../lab/topology.js';
import { createWg, wireguardGoSocket } from '../../shared/wg.js';

async function install(args: string[]): Promise<Ran> {
  return sh(['bash', join(ROOT, 'deploy/install.sh'), ...args], { timeoutMs: 300_000 });
}

test(`install.sh into a fresh Debian ${SUITE} root: both roles, --check, enrollment, upgrade, uninstall`, { skip, timeout: 600_000 }, async (t) => {
  const dir = await freshRoot(t);
  if (!dir) return;

  // Install both sides into the one root (a lab box); the packages come from the distribution.
  const agent = await install(['--role', 'agent', '--root', dir]);
  if (agent.code !== 0 && /unable to fetch|could not resolve|failed to fetch|temporary failure/i.test(agent.stderr)) {
    t.skip(`apt in the root cannot reach the package registry: ${agent.stderr.trim().split('\n').slice(-2).join(' / ')}`);
    return;
  }
  assert.equal(agent.code, 0, `install --role agent:\n${agent.stdout}\n${agent.stderr}`);
  const hq = await install(['--role', 'hq', '--root', dir]);
  assert.equal(hq.code, 0, `install --role hq:\n${hq.stdout}\n${hq.stderr}`);
  for (const bin of ['wg', 'ip', 'nft', 'udhcpc', 'wpa_supplicant', 'iw']) {
    assert.equal((await inRoot(dir, ['sh', '-c', `command -v ${bin}`])).code, 0, `${bin} is not installed in the root`);
  }
  assert.equal(statSync(join(dir, 'etc/roamlink')).mode & 0o777, 0o750);
  assert.equal(statSync(join(dir, 'var/lib/roamlink')).mode & 0o777, 0o700);
  const version = await inRoot(dir, ['roamlink', '--version']);
  assert.equal(version.code, 0, version.stderr);
  // The wrapper hands the agent unit's Node flags to Node (lite mode and small semi-spaces show in V8's heap).
  const flagged = await inRoot(dir, ['sh', '-c', `ROAMLINK_NODE_FLAGS='${AGENT_NODE_FLAGS.join(' ')}' roamlink --version && ROAMLINK_NODE_FLAGS='--max-semi-space-size=1 --no-such-flag-x' roamlink --version`]);
  assert.notEqual(flagged.code, 0, 'an unknown Node flag through ROAMLINK_NODE_FLAGS reaches Node (and fails it)');
  assert.match(flagged.stderr, /no-such-flag-x/);
  assert.equal((await inRoot(dir, ['sh', '-c', `ROAMLINK_NODE_FLAGS='${AGENT_NODE_FLAGS.join(' ')}' roamlink --version`])).code, 0, 'the agent unit\'s flags are valid for the installed Node');
  const node = /^exec (\S+) /m.exec(readFileSync(join(dir, 'usr/local/bin/roamlink'), 'utf8'))?.[1];
  t.diagnostic(`roamlink ${version.stdout.trim()} runs on ${node} (${node?.startsWith('/opt/') ? "copied in: the distribution's Node is another major" : "the distribution's"})`);

  // The installed units verify inside the root, against the programs there.
  const verify = await inRoot(dir, ['systemd-analyze', 'verify', '--man=no', '/usr/local/lib/systemd/system/roamlink-agent.service', '/usr/local/lib/systemd/system/roamlink-hq.service']);
  assert.equal(verify.code, 0, verify.stderr);
  assert.equal(verify.stderr.trim(), '', 'systemd-analyze verify warned');

  // The example configs as installed pass --check (HQ's once its key exists).
  let r = await inRoot(dir, ['roamlink', 'agent', '--check']);
  assert.equal(r.code, 0, r.stderr);
  r = await inRoot(dir, ['sh', '-c', 'umask 077 && wg genkey > /etc/roamlink/hq.key']);
  assert.equal(r.code, 0, r.stderr);
  r = await inRoot(dir, ['roamlink', 'hq', '--check']);
  assert.equal(r.code, 0, r.stderr);
  // HQ's admin listener: install.sh made a self-signed certificate; the example's admin lines, uncommented, pass --check.
  assert.equal(statSync(join(dir, 'etc/roamlink/admin.key')).mode & 0o777, 0o600);
  assert.match(hq.stdout, /made a self-signed admin certificate \/etc\/roamlink\/admin\.crt \(([0-9A-F]{2}:){31}[0-9A-F]{2}\)/);
  const hqText = readFileSync(join(dir, 'etc/roamlink/hq.yaml'), 'utf8');
  const adminLines = hqText.split('\n').filter((l) => /^# admin_(listen|tls):/.test(l)).map((l) => l.slice(2));
  assert.equal(adminLines.length, 2, 'the example shows admin_listen and admin_tls');
  writeFileSync(join(dir, 'etc/roamlink/admin.yaml'), `${hqText}\n${adminLines.join('\n')}\n`);
  r = await inRoot(dir, ['roamlink', 'hq', '--config', '/etc/roamlink/admin.yaml', '--check']);
  assert.equal(r.code, 0, r.stderr);
  writeFileSync(join(dir, 'etc/roamlink/admin.yaml'), `${hqText}\n${adminLines.filter((l) => !l.startsWith('admin_tls')).join('\n')}\n`);
  r = await inRoot(dir, ['roamlink', 'hq', '--config', '/etc/roamlink/admin.yaml', '--check']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /admin_tls: needed with admin_listen/);
  rmSync(join(dir, 'etc/roamlink/admin.yaml'));

  // Enrollment: the key on the vehicle, the registry at HQ, the enrollment back on the vehicle.
  const key = await inRoot(dir, ['/opt/roamlink/deploy/enroll-vehicle.sh', 'key']);
  assert.equal(key.code, 0, key.stderr);
  const pub = key.stdout.trim();
  assert.equal(statSync(join(dir, 'etc/roamlink/agent.key')).mode & 0o777, 0o600);
  const priv = readFileSync(join(dir, 'etc/roamlink/agent.key'), 'utf8').trim();
  const reg = await inRoot(dir, ['/opt/roamlink/deploy/enroll-vehicle.sh', 'register', 'bus-7', '--subnet', '10.20.7.0/24', '--pubkey', pub, '--endpoint', '203.0.113.5:51820']);
  assert.equal(reg.code, 0, reg.stderr);
  const enrollment = JSON.parse(reg.stdout) as { wireguard: { address: string }; concentrator: { public_key: string } };
  const applied = await inRoot(dir, ['/opt/roamlink/deploy/enroll-vehicle.sh', 'apply', '-'], { input: reg.stdout });
  assert.equal(applied.code, 0, applied.stderr);
  for (const out of [key.stdout, key.stderr, reg.stdout, reg.stderr, applied.stdout, applied.stderr]) assert.ok(!out.includes(priv), 'the private key was printed');
  const list = await inRoot(dir, ['roamlink', 'vehicle', 'list', '--json']);
  assert.equal(list.code, 0, list.stderr);
  const vehicles = list.stdout.trim().split('\n').map((l) => JSON.parse(l) as { name: string; public_key: string; tunnel_address: string });
  assert.deepEqual(vehicles.map((v) => [v.name, v.public_key, v.tunnel_address]), [['bus-7', pub, enrollment.wireguard.address]]);
  const hqPub = await inRoot(dir, ['roamlink', 'hq', 'pubkey']);
  assert.equal(enrollment.concentrator.public_key, hqPub.stdout.trim());
  r = await inRoot(dir, ['roamlink', 'agent', '--check']);
  assert.equal(r.code, 0, r.stderr);

  // A wrong config is refused with exit 2, naming the field.
  const enrolled = readFileSync(join(dir, 'etc/roamlink/agent.yaml'), 'utf8');
  writeFileSync(join(dir, 'etc/roamlink/broken.yaml'), enrolled.replace(/tunnel_address: [\d.]+/, 'tunnel_address: 10.99.0'));
  r = await inRoot(dir, ['roamlink', 'agent', '--config', '/etc/roamlink/broken.yaml', '--check']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /concentrator\.tunnel_address: must be an IPv4 address/);
  writeFileSync(join(dir, 'etc/roamlink/broken.yaml'), readFileSync(join(dir, 'etc/roamlink/hq.yaml'), 'utf8').replace('tunnel_network: 10.99.0.0/24', 'tunnel_network: 10.99.0.0/31'));
  r = await inRoot(dir, ['roamlink', 'hq', '--config', '/etc/roamlink/broken.yaml', '--check']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /tunnel_network: too small/);
  rmSync(join(dir, 'etc/roamlink/broken.yaml'));

  // Upgrade: the app replaced, nothing installed twice, config and state as they were.
  const registry = readFileSync(join(dir, 'var/lib/roamlink/registry.sqlite'));
  const up = await install(['--role', 'agent', '--root', dir, '--upgrade']);
  assert.equal(up.code, 0, up.stderr);
  assert.doesNotMatch(up.stdout, /installing/, 'packages installed again');
  assert.match(up.stdout, /kept \/etc\/roamlink\/agent.yaml/);
  assert.equal(readFileSync(join(dir, 'etc/roamlink/agent.yaml'), 'utf8'), enrolled);
  assert.ok(readFileSync(join(dir, 'var/lib/roamlink/registry.sqlite')).equals(registry));
  assert.equal(readFileSync(join(dir, 'opt/roamlink/.roles'), 'utf8'), 'agent\nhq\n');
  assert.equal((await inRoot(dir, ['roamlink', 'agent', '--check'])).code, 0);

  // Uninstall keeps config and state; --purge removes them.
  const un = await install(['--uninstall', '--root', dir]);
  assert.equal(un.code, 0, un.stderr);
  for (const gone of ['opt/roamlink', 'usr/local/bin/roamlink', 'usr/local/lib/systemd/system/roamlink-agent.service', 'usr/local/lib/systemd/system/roamlink-hq.service', 'etc/sysctl.d/60-roamlink-agent.conf']) {
    assert.ok(!existsSync(join(dir, gone)), `${gone} is still there`);
  }
  for (const kept of ['etc/roamlink/agent.yaml', 'etc/roamlink/agent.key', 'etc/roamlink/hq.key', 'var/lib/roamlink/registry.sqlite']) {
    assert.ok(existsSync(join(dir, kept)), `${kept} was removed`);
  }
  const purge = await install(['--uninstall', '--purge', '--root', dir]);
  assert.equal(purge.code, 0, purge.stderr);
  assert.ok(!existsSync(join(dir, 'etc/roamlink')) && !existsSync(join(dir, 'var/lib/roamlink')));
});

/*
 * HQ routing, option b of the guide: the concentrator is one host on the HQ LAN; the LAN's router has static routes for
 * the vehicle block and the tunnel network via the concentrator, and forwards HQ's WireGuard port from its outside.
 *
 *   host  lan0 192.168.10.20 ─┐                      router (…r)                          vehicle (…v)
 *   (…h)  default via .1      ├─ br0 192.168.10.1    wan0 192.0.2.1 ──────── veth ──────── wan0 192.0.2.2
 *   hq    lan0 192.168.10.5  ─┘  10.20.0.0/16, 10.99.0.0/24 via .5            wg 10.99.0.2, routes 10.99.0.1, 192.168.10.0/24
 *   (…q)  default via .1          DNAT udp 51820,51821 -> .5                   lan0 (veth) 10.20.7.1/24 
 *         roamlink hq: wg 10.99.0.1/24, route 10.20.7.0/24 (proto 82); `unreachable 10.20.0.0/16` added halfway
 */
test('HQ routing: a LAN host reaches a vehicle through the LAN router\'s static route; the rest of the block is unreachable, not a loop', {
  skip: process.getuid?.() !== 0 && 'needs root (network namespaces, WireGuard)', timeout: 60_000,
}, async (t) => {
  const id = `rlt${process.pid}`;
  const ns = { r: `${id}r`, q: `${id}q`, h: `${id}h`, v: `${id}v` };
  const wgHq = `rlq${process.pid}`;
  const wgCar = `rlv${process.pid}`;
  const wg = createWg();
  const dir = mkdtempSync(join(tmpdir(), 'rlt-route-'));
  const daemonLog: string[] = [];
  let daemon: ReturnType<typeof spawn> | null = null;
  t.after(async () => {
    if (daemon && daemon.exitCode === null) {
      daemon.kill('SIGUSR2'); // a stop for good: the interface and the probe echo go too
      await new Promise((r) => setTimeout(r, 1000));
      if (daemon.exitCode === null) daemon.kill('SIGKILL');
    }
    await killNetnsPids(ns.q);
    await wg.deleteInterface(wgHq, { netns: ns.q }).catch(() => {});
    await wg.deleteInterface(wgCar, { netns: ns.v }).catch(() => {});
    for (const n of Object.values(ns)) await run(['ip', 'netns', 'del', n], { allowFail: true });
    for (const i of [wgHq, wgCar]) rmSync(wireguardGoSocket(i), { force: true });
    rmSync(dir, { recursive: true, force: true });
  });
  const ip = (n: string, ...args: string[]) => run(['ip', '-n', n, ...args]);
  const inNs = (n: string, ...argv: string[]) => run(argv, { netns: n, allowFail: true });

  for (const n of Object.values(ns)) {
    await run(['ip', 'netns', 'add', n]);
    await ip(n, 'link', 'set', 'lo', 'up');
  }
  // The HQ LAN: a bridge in the router, the concentrator and a host on it.
  await ip(ns.r, 'link', 'add', 'br0', 'type', 'bridge');
  await ip(ns.r, 'addr', 'add', '192.168.10.1/24', 'dev', 'br0');
  await ip(ns.r, 'link', 'set', 'br0', 'up');
  for (const [n, port, addr] of [[ns.q, 'p-q', '192.168.10.5'], [ns.h, 'p-h', '192.168.10.20']] as const) {
    await ip(ns.r, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'lan0', 'netns', n);
    await ip(ns.r, 'link', 'set', port, 'master', 'br0', 'up');
    await ip(n, 'addr', 'add', `${addr}/24`, 'dev', 'lan0');
    await ip(n, 'link', 'set', 'lan0', 'up');
    await ip(n, 'route', 'add', 'default', 'via', '192.168.10.1');
  }
  // The outside: the vehicle's uplink to the router's WAN side, HQ's ports forwarded to the concentrator.
  await ip(ns.r, 'link', 'add', 'wan0', 'type', 'veth', 'peer', 'name', 'wan0', 'netns', ns.v);
  await ip(ns.r, 'addr', 'add', '192.0.2.1/24', 'dev', 'wan0');
  await ip(ns.r, 'link', 'set', 'wan0', 'up');
  await ip(ns.v, 'addr', 'add', '192.0.2.2/24', 'dev', 'wan0');
  await ip(ns.v, 'link', 'set', 'wan0', 'up');
  await run(['nft', '-f', '-'], { netns: ns.r, input: 'table ip portfw {\n chain pre { type nat hook prerouting priority dstnat; iifname "wan0" udp dport { 51820, 51821 } dnat to 192.168.10.5; }\n}\n' });
  for (const n of [ns.r, ns.q]) await run(['sysctl', '-qw', 'net.ipv4.ip_forward=1'], { netns: n });
  // The guide's static routes on the LAN router.
  await ip(ns.r, 'route', 'add', '10.20.0.0/16', 'via', '192.168.10.5');
  await ip(ns.r, 'route', 'add', '10.99.0.0/24', 'via', '192.168.10.5');
  // The vehicle's LAN (a camera would sit behind it).
  await ip(ns.v, 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'lan0p');
  await ip(ns.v, 'addr', 'add', '10.20.7.1/24', 'dev', 'lan0');
  for (const dev of ['lan0', 'lan0p']) await ip(ns.v, 'link', 'set', dev, 'up');

  // HQ: its config and key, the vehicle registered, the daemon started.
  const hqKey = await wg.genKey();
  writeFileSync(join(dir, 'hq.key'), `${hqKey}\n`, { mode: 0o600 });
  const config = join(dir, 'hq.yaml');
  writeFileSync(config, [`interface: ${wgHq}`, 'private_key_file: hq.key', 'tunnel_network: 10.99.0.0/24', 'state_dir: state',
    'control_socket: hq.sock', 'lan_subnets: [192.168.10.0/24]', 'log_level: warn', ''].join('\n'));
  const carKey = await wg.genKey();
  const roamlink = (...args: string[]) => sh(['node', join(ROOT, 'bin/roamlink'), ...args], { timeoutMs: 30_000 });
  const add = await roamlink('vehicle', 'add', 'bus-7', '--subnet', '10.20.7.0/24', '--pubkey', await wg.pubKey(carKey), '--json', '--config', config);
  assert.equal(add.code, 0, add.stderr);
  const bus = JSON.parse(add.stdout) as { tunnel_address: string; concentrator: { public_key: string } };
  daemon = spawn('ip', ['netns', 'exec', ns.q, 'node', join(ROOT, 'bin/roamlink'), 'hq', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  daemon.stdout!.on('data', (c: Buffer) => daemonLog.push(String(c)));
  daemon.stderr!.on('data', (c: Buffer) => daemonLog.push(String(c)));
  const until = async (what: string, ms: number, ok: () => Promise<boolean>) => {
    const deadline = Date.now() + ms;
    while (!(await ok())) {
      if (daemon?.exitCode !== null) assert.fail(`roamlink hq exited: ${daemonLog.join('')}`);
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; roamlink hq: ${daemonLog.join('')}`);
      await sleep(100);
    }
  };
  await until('the concentrator', 15_000, async () => (await controlRequest(join(dir, 'hq.sock'), 'GET', '/v1/health', { timeoutMs: 2000 }).catch(() => null))?.status === 200);

  // The vehicle: its tunnel to HQ's public address, HQ's LAN routed into it (what the agent sets up).
  await wg.createInterface(wgCar, { netns: ns.v });
  await wg.setPrivateKey(wgCar, carKey, { netns: ns.v });
  await wg.setPeer(wgCar, { publicKey: bus.concentrator.public_key, allowedIps: ['10.99.0.1/32', '192.168.10.0/24'], endpoint: '192.0.2.1:51820', keepalive: 1 }, { netns: ns.v });
  await ip(ns.v, 'addr', 'add', `${bus.tunnel_address}/32`, 'dev', wgCar);
  await ip(ns.v, 'link', 'set', wgCar, 'up');
  for (const dst of ['10.99.0.1/32', '192.168.10.0/24']) await ip(ns.v, 'route', 'add', dst, 'dev', wgCar, 'src', bus.tunnel_address);

  // A host on the HQ LAN reaches the vehicle's LAN and its tunnel address: host -> router -> concentrator -> tunnel.
  await until('a ping from the HQ LAN to the vehicle LAN', 15_000, async () => (await inNs(ns.h, 'ping', '-c', '1', '-W', '1', '10.20.7.1')).exitCode === 0);
  assert.equal((await inNs(ns.h, 'ping', '-c', '1', '-W', '2', bus.tunnel_address)).exitCode, 0, 'the tunnel address through the router');
  const via = await inNs(ns.q, 'ip', 'route', 'get', '10.20.7.1');
  assert.match(via.stdout, new RegExp(`dev ${wgHq}`));

  // A subnet of the block that no vehicle has: without the guide's unreachable route it bounces between the router
  // (static route to HQ) and HQ (default route to the router) until its TTL runs out; with it, HQ answers at once.
  // (No ICMP redirects, so that ping reports how the packet ended rather than the redirects on its way.)
  for (const [n, dev] of [[ns.r, 'br0'], [ns.q, 'lan0']] as const) {
    await run(['sysctl', '-qw', 'net.ipv4.conf.all.send_redirects=0', `net.ipv4.conf.${dev}.send_redirects=0`], { netns: n });
  }
  const loop = await inNs(ns.h, 'ping', '-c', '1', '-W', '2', '10.20.9.1');
  assert.notEqual(loop.exitCode, 0);
  assert.match(loop.stdout, /Time to live exceeded/, loop.stdout);
  await ip(ns.q, 'route', 'add', 'unreachable', '10.20.0.0/16');
  const refused = await inNs(ns.h, 'ping', '-c', '1', '-W', '2', '10.20.9.1');
  assert.notEqual(refused.exitCode, 0);
  assert.match(refused.stdout, /From 192\.168\.10\.5 .*Unreachable/, refused.stdout);
  assert.equal((await inNs(ns.h, 'ping', '-c', '1', '-W', '2', '10.20.7.1')).exitCode, 0, 'the enrolled vehicle still reachable: its /24 is more specific');
});
