// Lab tests of the deployment (root): install.sh into a fresh Debian root from debootstrap, both roles, a vehicle enrolled;
// that root booted under systemd (systemd-nspawn), the hardened units running the daemons and sd_notify reaching systemd;
// and HQ routing as docs/operator-guide.md prescribes it (a LAN router with a static route to the concentrator).
//
//   /var/cache/roamlink-test/SUITE-ARCH.tar    the bootstrapped root (minbase + systemd), made once, unpacked per run
//   /var/cache/roamlink-test/archives/         apt's .deb cache, bind-mounted into the root while the test runs
//   $TMP/rlt-inst-*/                           the root: install.sh --root, then everything else through chroot
//
// Set ROAMLINK_TEST_SUITE=trixie to try Debian 13, whose own nodejs is 20 (bookworm's is 18: the installer copies Node in).
import { AGENT_NODE_FLAGS } from '../../shared/runtime.js';
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { controlRequest } from '../../concentrator/client.js';
import { run } from '../../shared/exec.js';
import { killNetnsPids } from '../../lab/topology.js';
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
  // The root's / as a Debian system has it (mkdtemp's 0700, which the unpacked '.' keeps, would stop the daemons' user,
  // roamlink, at the first step of every path: chdir to /, the journal's socket).
  chmodSync(dir, 0o755);
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

/** Polls `check` every 200 ms until it returns true; fails after `ms` with `what` and the last detail it gave. */
async function poll(what: string, ms: number, check: () => Promise<true | string>): Promise<void> {
  const deadline = Date.now() + ms;
  let last = '';
  for (;;) {
    const r = await check();
    if (r === true) return;
    last = r;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}: ${last}`);
    await sleep(200);
  }
}

const noNspawn = spawnSync('systemd-nspawn', ['--version']).error && 'systemd-nspawn is not installed (Debian package `systemd-container`)';

test('the units under systemd: the root booted with systemd-nspawn runs both daemons sandboxed; sd_notify readiness and watchdog work', {
  skip: skip || noNspawn, timeout: 300_000,
}, async (t) => {
  const dir = await freshRoot(t);
  if (!dir) return;
  for (const role of ['hq', 'agent']) {
    const r = await install(['--role', role, '--root', dir]);
    if (r.code !== 0 && /unable to fetch|could not resolve|failed to fetch|temporary failure/i.test(r.stderr)) return void t.skip(`apt cannot reach the package registry: ${r.stderr.trim().split('\n').pop()}`);
    assert.equal(r.code, 0, `install --role ${role}:\n${r.stdout}\n${r.stderr}`);
  }
  assert.equal((await inRoot(dir, ['sh', '-c', 'umask 077 && wg genkey > /etc/roamlink/hq.key && wg genkey > /etc/roamlink/agent.key'])).code, 0);
  // The vehicle: one wired uplink (eth1, made once the container runs); no wpa_supplicant or modem in a container.
  writeFileSync(join(dir, 'etc/roamlink/agent.yaml'), [
    'vehicle: bus-7',
    'wireguard: { interface: roamlink0, private_key_file: /etc/roamlink/agent.key, address: 10.99.0.2 }',
    'concentrator: { endpoint: "192.0.2.1:51820", public_key: ReplaceWithTheConcentratorsPublicKeyFromHQ0=, tunnel_address: 10.99.0.1 }',
    'uplinks: [ { name: eth1, kind: ethernet } ]', '',
  ].join('\n'));
  assert.equal((await inRoot(dir, ['systemctl', 'enable', 'roamlink-hq'])).code, 0);
  // Until a daemon calls startSdNotify() (shared/sdnotify.ts), Type=notify would time it out: run it as Type=exec.
  const daemonFiles = { 'roamlink-hq': ['cli/hq.js', 'concentrator/daemon.js'], 'roamlink-agent': ['cli/agent.js', 'agent/agent.js'] };
  for (const [unit, files] of Object.entries(daemonFiles)) {
    if (files.some((f) => existsSync(join(dir, 'opt/roamlink/dist', f)) && readFileSync(join(dir, 'opt/roamlink/dist', f), 'utf8').includes('startSdNotify'))) continue;
    t.diagnostic(`${unit}: the daemon does not call startSdNotify() yet: tested with a Type=exec, WatchdogSec=0 drop-in`);
    mkdirSync(join(dir, `etc/systemd/system/${unit}.service.d`), { recursive: true });
    writeFileSync(join(dir, `etc/systemd/system/${unit}.service.d/no-notify.conf`), '[Service]\nType=exec\nWatchdogSec=0\n');
  }
  // A probe of shared/sdnotify.ts itself: READY with a status, then pings (or none, when SDN_HEALTHY=0).
  const node = /^exec (\S+) /m.exec(readFileSync(join(dir, 'usr/local/bin/roamlink'), 'utf8'))![1]!;
  writeFileSync(join(dir, 'etc/systemd/system/sdn-probe@.service'), [
    '[Service]', 'Type=notify', 'NotifyAccess=main', 'WatchdogSec=2s', 'Environment=SDN_HEALTHY=%i',
    `ExecStart=${node} --input-type=module -e "const { startSdNotify } = await import('/opt/roamlink/dist/shared/sdnotify.js'); ` +
      `startSdNotify({ status: 'probe up', healthy: () => process.env.SDN_HEALTHY === '1', onError: (e) => console.error(e.message) }); setInterval(() => {}, 1000);"`, '',
  ].join('\n'));

  // Boot it: systemd as PID 1 of the container, its own network namespace.
  let bootLog = '';
  const nspawn = spawn('systemd-nspawn', ['-D', dir, '--boot', '--private-network', '--register=no', '--keep-unit', '-q'], { stdio: ['ignore', 'pipe', 'pipe'] });
  nspawn.stdout!.on('data', (c: Buffer) => (bootLog += c));
  nspawn.stderr!.on('data', (c: Buffer) => (bootLog += c));
  let init = 0;
  const root = dir;
  // Shut down before the root's own clean-up removes it (try/finally: the after hooks' order is not ours to choose).
  const shutdown = async () => {
    if (nspawn.exitCode !== null) return;
    if (init) await sh(['nsenter', '-t', String(init), '-a', 'systemctl', 'poweroff'], { timeoutMs: 10_000 });
    const exited = () => new Promise((r) => nspawn.once('exit', () => r(true)));
    if (nspawn.exitCode === null && !(await Promise.race([exited(), sleep(20_000).then(() => false)]))) {
      if (init) process.kill(init, 'SIGKILL'); // the container's PID 1: its whole PID namespace goes with it
      nspawn.kill('SIGKILL');
      await Promise.race([exited(), sleep(5000)]);
    }
  };
  try {
    await booted();
  } finally {
    await shutdown();
  }

  async function booted(): Promise<void> {
    await poll('the container to boot', 60_000, async () => {
      if (nspawn.exitCode !== null) assert.fail(`systemd-nspawn exited ${nspawn.exitCode}: ${bootLog.slice(-2000)}`);
      const kids = existsSync(`/proc/${nspawn.pid}/task/${nspawn.pid}/children`) ? readFileSync(`/proc/${nspawn.pid}/task/${nspawn.pid}/children`, 'utf8').trim() : '';
      init = Number(kids.split(/\s+/)[0]) || 0;
      if (!init) return 'no init yet';
      const r = await sh(['nsenter', '-t', String(init), '-a', 'systemctl', 'is-system-running'], { timeoutMs: 10_000 });
      return /running|degraded/.test(r.stdout) ? true : r.stdout.trim();
    });
    const c = (...argv: string[]) => sh(['nsenter', '-t', String(init), '-a', 'env', '-i', `PATH=${PATH}`, 'LC_ALL=C', ...argv], { timeoutMs: 30_000 });
    // /dev/net/tun as Debian's udev makes it (50-udev-default.rules: KERNEL=="tun", MODE="0666": opening it is free,
    // making an interface needs CAP_NET_ADMIN). nspawn copies this machine's node, and this machine runs no udev (0600).
    assert.equal((await c('chmod', '0666', '/dev/net/tun')).code, 0);
    const show = async (unit: string) => Object.fromEntries((await c('systemctl', 'show', unit, '-p', 'ActiveState', '-p', 'SubState', '-p', 'Result', '-p', 'NRestarts', '-p', 'StatusText'))
      .stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    const journal = async (unit: string) => (await c('journalctl', '-u', unit, '-o', 'cat', '--no-pager')).stdout;

    // The concentrator: started at boot, sandboxed, its interface up (wireguard-go in the sandbox), programming routes.
    await poll('roamlink-hq to be active', 30_000, async () => ((await show('roamlink-hq')).ActiveState === 'active' ? true : JSON.stringify(await show('roamlink-hq')) + (await journal('roamlink-hq')).slice(-1500)));
    await poll('the concentrator to be ready', 20_000, async () => ((await journal('roamlink-hq')).includes('concentrator ready') ? true : (await journal('roamlink-hq')).slice(-1500)));
    // Both daemons run as the user roamlink with only their unit's capabilities, and so do their children.
    const uidOf = Number((await c('id', '-u', 'roamlink')).stdout.trim());
    assert.ok(uidOf > 0, 'install.sh made the user roamlink');
    const status = async (pid: string) => Object.fromEntries((await c('cat', `/proc/${pid}/status`)).stdout.split('\n')
      .filter((l) => /^(Uid|Gid|Groups|CapEff|CapAmb|CapBnd|Name):/.test(l)).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]));
    const mainPid = async (unit: string) => (await c('systemctl', 'show', '-p', 'MainPID', '--value', unit)).stdout.trim();
    const NET_ADMIN = 1n << 12n, NET_RAW = 1n << 13n, NET_BIND_SERVICE = 1n << 10n;
    const caps = (hex: string | undefined) => BigInt(`0x${hex ?? '0'}`);
    const hqMain = await status(await mainPid('roamlink-hq'));
    t.diagnostic(`roamlink-hq main: Uid ${hqMain.Uid}, CapEff ${hqMain.CapEff}, CapBnd ${hqMain.CapBnd}`);
    assert.equal(hqMain.Uid?.split(/\s+/)[0], String(uidOf), 'HQ runs as roamlink');
    assert.equal(caps(hqMain.CapEff), NET_ADMIN, 'HQ has CAP_NET_ADMIN only');
    const wgGo = async () => {
      const pids = (await c('pgrep', '-x', 'wireguard-go')).stdout.split(/\s+/).filter(Boolean);
      return Promise.all(pids.map(status));
    };
    for (const w of await wgGo()) {
      assert.equal(w.Uid?.split(/\s+/)[0], String(uidOf), 'wireguard-go runs as roamlink');
      assert.equal(caps(w.CapEff), NET_ADMIN, 'wireguard-go has CAP_NET_ADMIN only');
    }
    const pub = (await c('sh', '-c', 'wg genkey | wg pubkey')).stdout.trim();
    const add = await c('roamlink', 'vehicle', 'add', 'bus-7', '--subnet', '10.20.7.0/24', '--pubkey', pub);
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stderr, /programmed by the running concentrator/);
    assert.match((await c('ip', 'route', 'show', 'proto', '82')).stdout, /^10\.20\.7\.0\/24 dev roamlink-hq/m);
    assert.equal((await c('systemctl', 'reload', 'roamlink-hq')).code, 0);
    const security = await c('systemd-analyze', 'security', '--no-pager', 'roamlink-hq');
    t.diagnostic(security.stdout.trim().split('\n').pop() ?? '');

    // shared/sdnotify.ts against systemd itself: READY=1 with STATUS; pings keep a 2 s watchdog happy, no pings fail it.
    assert.equal((await c('systemctl', 'start', 'sdn-probe@1')).code, 0);
    await sleep(5000);
    assert.deepEqual(await show('sdn-probe@1'), { ActiveState: 'active', SubState: 'running', Result: 'success', NRestarts: '0', StatusText: 'probe up' });
    await c('systemctl', 'stop', 'sdn-probe@1');
    await c('systemctl', 'start', 'sdn-probe@0');
    await poll('the watchdog to fire', 10_000, async () => ((await show('sdn-probe@0')).Result === 'watchdog' ? true : JSON.stringify(await show('sdn-probe@0'))));

    // The agent: its children (wireguard-go, udhcpc with raw sockets and the hook in /run/roamlink) run in the sandbox.
    assert.equal((await c('sh', '-c', 'ip link add eth1 type veth peer name eth1p && ip link set eth1p up && ip link set eth1 up')).code, 0);
    assert.equal((await c('systemctl', 'start', 'roamlink-agent')).code, 0, await journal('roamlink-agent'));
    await poll('the agent to address eth1 (udhcpc broadcasting, the hook run)', 20_000, async () => {
      const j = await journal('roamlink-agent');
      return /broadcasting discover/.test(j) && /"phase":"addressing"/.test(j) ? true : j.slice(-1500);
    });
    // A DHCP server on the far end (this machine's dnsmasq in the container's network): the lease comes back through the
    // hook udhcpc runs from /run/roamlink, inside the sandbox.
    if (spawnSync('dnsmasq', ['--version']).error) {
      t.diagnostic('no dnsmasq on this machine: the lease through the hook is not tested');
      assert.match((await c('roamlink', 'status')).stdout, /eth1\s+addressing/);
    } else {
      assert.equal((await c('ip', 'addr', 'add', '192.168.77.1/24', 'dev', 'eth1p')).code, 0);
      const dhcpd = spawn('nsenter', ['-t', String(init), '-n', 'dnsmasq', '--no-daemon', '--conf-file=/dev/null', '--port=0', '--interface=eth1p',
        '--bind-interfaces', '--dhcp-range=192.168.77.100,192.168.77.150,1h', `--dhcp-leasefile=${join(root, 'tmp/leases')}`, `--pid-file=${join(root, 'tmp/dnsmasq.pid')}`], { stdio: 'ignore' });
      try {
        await poll('a lease through the hook', 20_000, async () => {
          const j = await journal('roamlink-agent');
          return /"uplink":"eth1",[^\n]*"address":"192\.168\.77\.1\d\d"/.test(j) ? true : j.slice(-1500);
        });
      } finally {
        dhcpd.kill();
      }
    }
    assert.equal((await c('ip', 'link', 'show', 'roamlink0')).code, 0, 'the tunnel interface');
    const agentMain = await status(await mainPid('roamlink-agent'));
    t.diagnostic(`roamlink-agent main: Uid ${agentMain.Uid}, Groups ${agentMain.Groups}, CapEff ${agentMain.CapEff}`);
    assert.equal(agentMain.Uid?.split(/\s+/)[0], String(uidOf), 'the agent runs as roamlink');
    assert.equal(caps(agentMain.CapEff), NET_ADMIN | NET_RAW | NET_BIND_SERVICE, 'the agent has the three network capabilities only');
    const dialout = (await c('getent', 'group', 'dialout')).stdout.split(':')[2];
    assert.ok(agentMain.Groups?.split(/\s+/).includes(dialout!), 'the agent is in dialout (the modem\'s AT ports)');
    const wgs = await wgGo();
    assert.equal(wgs.length, 2, 'two wireguard-go: HQ\'s and the agent\'s (made by the unit\'s ExecStartPre=+)');
    for (const w of wgs) assert.deepEqual([w.Uid?.split(/\s+/)[0], caps(w.CapEff)], [String(uidOf), NET_ADMIN], 'each wireguard-go: roamlink, CAP_NET_ADMIN only');
    assert.match(await journal('roamlink-agent'), /tunnel interface found: adopted/, 'the agent adopted the interface its ExecStartPre made');
    for (const unit of ['roamlink-hq', 'roamlink-agent']) {
      assert.doesNotMatch(await journal(unit), /not permitted|EPERM|EACCES|Permission denied|Read-only file system/i, unit);
    }

    // A restart leaves HQ's tunnels to the next daemon (RestartKillSignal=SIGTERM, KillMode=process): the same interface.
    const ifindex = async () => (JSON.parse((await c('ip', '-j', 'link', 'show', 'roamlink-hq')).stdout || '[]') as Array<{ ifindex: number }>)[0]?.ifindex;
    const hqIf = await ifindex();
    assert.notEqual(hqIf, undefined, 'the HQ interface');
    assert.equal((await c('systemctl', 'restart', 'roamlink-hq')).code, 0);
    await poll('the concentrator to adopt its interface', 20_000, async () => ((await journal('roamlink-hq')).includes('interface adopted') ? true : (await journal('roamlink-hq')).slice(-1500)));
    assert.equal(await ifindex(), hqIf, 'the interface survived the restart');

    // Stopping takes the interfaces with them.
    for (const [unit, ifname] of [['roamlink-agent', 'roamlink0'], ['roamlink-hq', 'roamlink-hq']] as const) {
      assert.equal((await c('systemctl', 'stop', unit)).code, 0);
      assert.equal((await show(unit)).ActiveState, 'inactive', `${unit}: ${await journal(unit)}`);
      assert.notEqual((await c('ip', 'link', 'show', ifname)).code, 0, `${ifname} left behind`);
    }

  }
});
