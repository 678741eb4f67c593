// Lab tests of the deployment (root): install.sh into a fresh Debian root from debootstrap, both roles, a vehicle enrolled;
// and HQ routing as docs/operator-guide.md prescribes it (a LAN router with a static route to the concentrator).
//
//   /var/cache/roamlink-test/SUITE-ARCH.tar    the bootstrapped root (minbase + systemd), made once, unpacked per run
//   /var/cache/roamlink-test/archives/         apt's .deb cache, bind-mounted into the root while the test runs
//   $TMP/rlt-inst-*/                           the root: install.sh --root, then everything else through chroot
//
// Set ROAMLINK_TEST_SUITE=trixie to try Debian 13, whose own nodejs is 20 (bookworm's is 18: the installer copies Node in).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { controlRequest } from '../../concentrator/client.js';
import { run } from '../../shared/exec.js';
import { createWg, wireguardGoSocket } from '../../shared/wg.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SUITE = process.env.ROAMLINK_TEST_SUITE || 'bookworm';
const CACHE = '/var/cache/roamlink-test';
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs argv with a deadline (the child is killed at it); never throws on a non-zero exit. */
function sh(argv: string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Ran> {
  return new Promise((resolve) => {
    const p = spawn(argv[0]!, argv.slice(1), { stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    p.stdout!.on('data', (c: Buffer) => (stdout += c));
    p.stderr!.on('data', (c: Buffer) => (stderr += c));
    const timer = setTimeout(() => {
      stderr += `\n[killed after ${opts.timeoutMs} ms]`;
      p.kill('SIGTERM');
    }, opts.timeoutMs ?? 60_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    if (p.stdin) {
      p.stdin.on('error', () => {}); // a command that exits without reading its input
      p.stdin.end(opts.input);
    }
  });
}

/** A command inside the root, with a clean environment (nothing of this machine's Node or npm set-up leaks in). */
function inRoot(dir: string, argv: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<Ran> {
  return sh(['chroot', dir, ...argv], { ...opts, env: { PATH, HOME: '/root', LC_ALL: 'C' } });
}

/** The Debian mirror this machine's apt uses for SUITE's archive (the suite itself may be newer than ours). */
function debianMirror(): string | null {
  const texts: string[] = [];
  for (const d of ['/etc/apt/sources.list.d']) {
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d)) if (f.endsWith('.sources') || f.endsWith('.list')) texts.push(readFileSync(join(d, f), 'utf8'));
  }
  if (existsSync('/etc/apt/sources.list')) texts.push(readFileSync('/etc/apt/sources.list', 'utf8'));
  for (const text of texts) {
    for (const stanza of text.split(/\n\s*\n/)) {
      const uri = /^URIs:\s*(\S+)/m.exec(stanza)?.[1];
      const suites = /^Suites:\s*(.+)$/m.exec(stanza)?.[1] ?? '';
      if (uri && /^[a-z]+$/.test(suites.split(/\s+/)[0] ?? '') && !/security/.test(uri) && /debian\/?$/.test(uri)) return uri;
    }
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+debian\/?)\s+[a-z]+\s/m.exec(text);
    if (m) return m[1]!;
  }
  return null;
}

const hostArch = spawnSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).stdout?.trim() || 'amd64';
const skip =
  (process.getuid?.() !== 0 && 'needs root (debootstrap, chroot)') ||
  (spawnSync('debootstrap', ['--version']).error && 'debootstrap is not installed (Debian package `debootstrap`)') ||
  (!existsSync(join(ROOT, 'dist/cli/main.js')) && 'not built') ||
  false;

/** A fresh root: the cached bootstrap unpacked, or debootstrap run now (then cached). Skips when the mirror is unreachable. */
async function freshRoot(t: TestContext): Promise<string | null> {
  const dir = mkdtempSync(join(tmpdir(), 'rlt-inst-'));
  const archives = join(CACHE, 'archives');
  const aptArchives = join(dir, 'var/cache/apt/archives');
  t.after(async () => {
    for (const m of [aptArchives, join(dir, 'proc')]) {
      if ((await sh(['mountpoint', '-q', m])).code === 0) await sh(['umount', m]);
    }
    // Never delete through a mount that is still there (the bind mount would take the host's cache with it).
    const still = (await sh(['findmnt', '-rn', '-o', 'TARGET'])).stdout.split('\n').filter((m) => m.startsWith(dir));
    if (still.length) t.diagnostic(`left ${dir} in place: still mounted: ${still.join(', ')}`);
    else rmSync(dir, { recursive: true, force: true });
  });
  mkdirSync(join(archives, 'partial'), { recursive: true });
  const tarball = join(CACHE, `${SUITE}-${hostArch}.tar`);
  if (existsSync(tarball)) {
    const r = await sh(['tar', '-C', dir, '-xpf', tarball], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, `unpacking ${tarball}: ${r.stderr}`);
  } else {
    const mirror = debianMirror();
    if (!mirror) {
      t.skip('no Debian mirror in apt sources to debootstrap from');
      return null;
    }
    const r = await sh(['debootstrap', '--variant=minbase', '--include=systemd', `--cache-dir=${archives}`, SUITE, dir, mirror], { timeoutMs: 360_000 });
    if (r.code !== 0) {
      const why = (r.stdout + r.stderr).split('\n').filter((l) => /^E:|Failed|resolve|connect/i.test(l)).slice(0, 3).join(' / ');
      if (/Failed getting release file|Temporary failure|Could not resolve|Connection|unreachable|timed out/i.test(r.stdout + r.stderr)) {
        t.skip(`debootstrap cannot reach the package registry: ${why}`);
        return null;
      }
      assert.fail(`debootstrap ${SUITE} failed: ${why || r.stderr.slice(-2000)}`);
    }
    const tmp = `${tarball}.tmp`;
    const c = await sh(['tar', '-C', dir, '-cpf', tmp, '.'], { timeoutMs: 120_000 });
    if (c.code === 0) renameSync(tmp, tarball);
    else rmSync(tmp, { force: true });
  }
  mkdirSync(aptArchives, { recursive: true });
  assert.equal((await sh(['mount', '--bind', archives, aptArchives])).code, 0);
  return dir;
}

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
      daemon.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 1000));
      if (daemon.exitCode === null) daemon.kill('SIGKILL');
    }
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
  await until('the concentrator', 15_000, async () => (await controlRequest(join(dir, 'hq.sock'), 'GET', '/v1/health', 2000).catch(() => null))?.status === 200);

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
