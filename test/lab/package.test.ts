// Lab test of the Debian package (root): `npm run package`'s .deb refused on an unsupported release, installed with
// `apt install ./roamlink_*.deb` into a fresh Debian root (debroot.ts), that root booted under systemd (systemd-nspawn):
// both daemons on the packaged Node, sandboxed, sd_notify and journald priorities working; then upgraded to a newer
// version in the running system (config and state kept, daemons restarted onto it, tunnels adopted) and purged (nothing left).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freshRoot, hostArch, inRoot, noNspawn, PATH, poll, ROOT, sh, skip, SUITE } from './debroot.js';

const noDpkgDev = spawnSync('dpkg-shlibdeps', ['--version']).error && 'dpkg-shlibdeps is not installed (Debian package `dpkg-dev`)';
const NODE_VERSION = /^ROAMLINK_NODE_VERSION=(\S+)$/m.exec(readFileSync(join(ROOT, 'deploy/runtime.sh'), 'utf8'))![1]!;
const offline = /unable to fetch|could not resolve|failed to fetch|temporary failure/i;

/** The same package as a newer version (what a release built later would be): its control, .install and the
 *  example hq.yaml changed, md5sums to match. */
async function newerVersion(deb: string, version: string, out: string): Promise<string> {
  const x = join(out, 'x');
  assert.equal((await sh(['dpkg-deb', '-R', deb, x], { timeoutMs: 120_000 })).code, 0);
  const edit = (rel: string, f: (s: string) => string) => writeFileSync(join(x, rel), f(readFileSync(join(x, rel), 'utf8')));
  edit('DEBIAN/control', (s) => s.replace(/^Version: .*$/m, `Version: ${version}`));
  edit('opt/roamlink/.install', (s) => s.replace(/^version=.*$/m, `version=${version}`));
  edit('etc/roamlink/hq.yaml', (s) => `${s}# changed in ${version}\n`);
  edit('DEBIAN/md5sums', (s) => s.split('\n').map((l) => {
    const f = l.slice(34);
    return f === 'opt/roamlink/.install' || f === 'etc/roamlink/hq.yaml' ? `${spawnSync('md5sum', [join(x, f)], { encoding: 'utf8' }).stdout.slice(0, 32)}  ${f}` : l;
  }).join('\n'));
  const newer = join(out, `roamlink_${version}_${hostArch}.deb`);
  const r = await sh(['dpkg-deb', '--root-owner-group', '-Zgzip', '-z1', '--build', x, newer], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  rmSync(x, { recursive: true, force: true });
  return newer;
}

test(`the .deb: refused on an old release; apt install into a fresh Debian ${SUITE} root; both daemons under systemd on its Node; upgrade keeps config and state; purge leaves nothing`, {
  skip: skip || noNspawn || noDpkgDev, timeout: 480_000,
}, async (t) => {
  const t0 = Date.now();
  const phase = (what: string) => t.diagnostic(`${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const out = mkdtempSync(join(tmpdir(), 'rlt-deb-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));

  // `npm run package` (fast compression: a throwaway package): the .deb's path is the last line.
  const built = await sh(['bash', join(ROOT, 'deploy/package.sh'), '--fast', '--out', out], { timeoutMs: 240_000 });
  assert.equal(built.code, 0, built.stderr);
  const deb = built.stdout.trim().split('\n').pop()!;
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  assert.equal(deb, join(out, `roamlink_${version}_${hostArch}.deb`));
  const info = (await sh(['dpkg-deb', '-f', deb])).stdout;
  assert.match(info, /^Depends: .*libc6 \(>= 2\.\d+\).*systemd \(>= 252\)/m);
  const newer = await newerVersion(deb, `${version}+t2`, out);
  phase('built the .deb and its newer version');

  const dir = await freshRoot(t);
  if (!dir) return;
  phase('fresh root');
  for (const f of [deb, newer]) copyFileSync(f, join(dir, 'var/tmp', f.slice(out.length + 1)));
  const inDir = (f: string) => `/var/tmp/${f.slice(out.length + 1)}`;
  // While in the chroot: /proc for package scripts, no service starts (policy-rc.d).
  assert.equal((await sh(['mount', '-t', 'proc', 'proc', join(dir, 'proc')])).code, 0);
  writeFileSync(join(dir, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n');
  chmodSync(join(dir, 'usr/sbin/policy-rc.d'), 0o755);

  // An unsupported release: refused before anything is unpacked, naming the release and what it needs.
  const osRelease = join(dir, 'etc/os-release');
  const link = lstatSync(osRelease).isSymbolicLink() ? readlinkSync(osRelease) : null;
  const saved = readFileSync(osRelease, 'utf8');
  rmSync(osRelease);
  writeFileSync(osRelease, 'PRETTY_NAME="Debian GNU/Linux 11 (bullseye)"\nID=debian\nVERSION_ID="11"\nVERSION_CODENAME=bullseye\n');
  const refused = await inRoot(dir, ['dpkg', '-i', inDir(deb)]);
  rmSync(osRelease);
  if (link) symlinkSync(link, osRelease);
  else writeFileSync(osRelease, saved);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /roamlink: Debian GNU\/Linux 11 \(bullseye\) is not supported: roamlink needs Debian 12 \(bookworm\) or later; nothing was installed/);
  assert.doesNotMatch((await inRoot(dir, ['dpkg-query', '-W', '-f=${Status}', 'roamlink'])).stdout, / installed$/);
  assert.ok(!existsSync(join(dir, 'opt/roamlink')) && !existsSync(join(dir, 'etc/roamlink')) && !existsSync(join(dir, 'usr/bin/roamlink')), 'files of a refused package');

  // A machine roamlink goes on has a kernel; a debootstrap root has none. wireguard-tools recommends wireguard-modules,
  // which Debian's kernel images provide, so in a root without one apt installed a whole kernel (70 MB) and built its
  // initramfs: minutes, and past the 300 s bound on a fresh, loaded machine (2026-12-04 CI). A stand-in for the
  // installed kernel (its WireGuard, as Debian's have it) keeps the install what it is on a vehicle or an HQ server.
  const kernel = join(out, 'kernel');
  mkdirSync(join(kernel, 'DEBIAN'), { recursive: true });
  writeFileSync(join(kernel, 'DEBIAN/control'), `Package: kernel-stand-in\nVersion: 1.0\nArchitecture: all\nMaintainer: roamlink tests <roamlink@localhost>\nProvides: wireguard-modules (= 1.0.20210606)\nDescription: stands in for the installed kernel in a test root\n`);
  assert.equal((await sh(['dpkg-deb', '--root-owner-group', '--build', kernel, join(dir, 'var/tmp/kernel-stand-in.deb')], { timeoutMs: 60_000 })).code, 0);
  assert.equal((await inRoot(dir, ['dpkg', '-i', '/var/tmp/kernel-stand-in.deb'])).code, 0);

  // apt install ./roamlink_*.deb: its dependencies from the distribution, the package's own Node. A throwaway root
  // needs no fsync of each of the package's ~5,000 files (dpkg's default: minutes on a busy disk; a vehicle pays it once).
  writeFileSync(join(dir, 'etc/dpkg/dpkg.cfg.d/unsafe-io'), 'force-unsafe-io\n');
  const apt = (...args: string[]) => inRoot(dir, ['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', '-q', '-o', 'Dpkg::Use-Pty=0', ...args], { timeoutMs: 300_000 });
  let r = await apt('update');
  if (r.code !== 0 && offline.test(r.stdout + r.stderr)) return void t.skip(`apt in the root cannot reach the package registry: ${r.stderr.trim().split('\n').pop()}`);
  phase('apt update');
  // (apt, unlike apt-get, deletes what it downloaded: kept, so that the next run finds the dependencies in the cache.)
  r = await inRoot(dir, ['env', 'DEBIAN_FRONTEND=noninteractive', 'apt', '-o', 'APT::Keep-Downloaded-Packages=true', 'install', '-y', '-q', inDir(deb)], { timeoutMs: 300_000 });
  if (r.code !== 0 && offline.test(r.stdout + r.stderr)) return void t.skip(`apt in the root cannot reach the package registry: ${r.stderr.trim().split('\n').pop()}`);
  assert.equal(r.code, 0, `apt install ${deb}:\n${r.stdout}\n${r.stderr}`);
  assert.doesNotMatch(r.stdout, /^Setting up linux-image/m, 'a kernel pulled in beside the installed one');
  phase(`apt install (${/(\d+) newly installed/.exec(r.stdout)?.[1] ?? '?'} packages, ${/Need to get (\S+ \S*B)/.exec(r.stdout)?.[1] ?? 'nothing'} downloaded)`);
  assert.equal((await inRoot(dir, ['dpkg-query', '-W', '-f=${Version} ${Status}', 'roamlink'])).stdout, `${version} install ok installed`);
  assert.match(r.stdout, /roamlink: made a self-signed admin certificate \/etc\/roamlink\/admin\.crt \(([0-9A-F]{2}:){31}[0-9A-F]{2}\)/);
  assert.match(r.stdout, /roamlink: installed; nothing started/);
  for (const bin of ['wg', 'ip', 'nft', 'udhcpc', 'wpa_supplicant', 'iw', 'wireguard-go']) {
    assert.equal((await inRoot(dir, ['sh', '-c', `command -v ${bin}`])).code, 0, `${bin} is not installed in the root`);
  }
  const uid = Number((await inRoot(dir, ['id', '-u', 'roamlink'])).stdout.trim());
  const gid = Number((await inRoot(dir, ['id', '-g', 'roamlink'])).stdout.trim());
  assert.ok(uid > 0 && uid < 1000, `roamlink is a system user (uid ${uid})`);
  const mode = (rel: string) => { const s = statSync(join(dir, rel)); return [s.mode & 0o777, s.uid, s.gid]; };
  assert.deepEqual(mode('etc/roamlink'), [0o750, 0, gid]);
  assert.deepEqual(mode('etc/roamlink/agent.yaml'), [0o640, 0, gid]);
  assert.deepEqual(mode('var/lib/roamlink'), [0o700, uid, gid]);
  assert.deepEqual(mode('etc/roamlink/admin.key'), [0o600, uid, gid]);
  // Nothing enabled or started: the operator enables a role once it is configured.
  assert.equal((await inRoot(dir, ['systemctl', 'is-enabled', 'roamlink-agent', 'roamlink-hq'])).stdout.trim(), 'disabled\ndisabled');
  // The command runs on the packaged Node, whatever the system has; the agent unit's Node flags are valid for it.
  assert.match(readFileSync(join(dir, 'usr/bin/roamlink'), 'utf8'), /^exec \/opt\/roamlink\/node\/bin\/node \$ROAMLINK_NODE_FLAGS /m);
  assert.equal((await inRoot(dir, ['/opt/roamlink/node/bin/node', '--version'])).stdout.trim(), `v${NODE_VERSION}`);
  const flags = /^Environment="ROAMLINK_NODE_FLAGS=([^"]*)"$/m.exec(readFileSync(join(dir, 'usr/lib/systemd/system/roamlink-agent.service'), 'utf8'))?.[1];
  assert.ok(flags, 'the agent unit sets ROAMLINK_NODE_FLAGS');
  r = await inRoot(dir, ['env', `ROAMLINK_NODE_FLAGS=${flags}`, 'roamlink', '--version']);
  assert.equal(r.code, 0, r.stderr);
  const verify = await inRoot(dir, ['systemd-analyze', 'verify', '--man=no', '/usr/lib/systemd/system/roamlink-agent.service', '/usr/lib/systemd/system/roamlink-hq.service']);
  assert.equal(verify.code, 0, verify.stderr);
  assert.equal(verify.stderr.trim(), '', 'systemd-analyze verify warned');
  r = await inRoot(dir, ['roamlink', 'agent', '--check']);
  assert.equal(r.code, 0, r.stderr);

  // Configure both sides (a lab box): HQ's key, the vehicle's config (one wired uplink, eth1, made once the container
  // runs), HQ enabled as an operator would.
  assert.equal((await inRoot(dir, ['sh', '-c', 'umask 077 && wg genkey > /etc/roamlink/hq.key && wg genkey > /etc/roamlink/agent.key'])).code, 0);
  const agentYaml = [
    'vehicle: bus-7',
    'wireguard: { interface: roamlink0, private_key_file: /etc/roamlink/agent.key, address: 10.99.0.2 }',
    'concentrator: { endpoint: "192.0.2.1:51820", public_key: ReplaceWithTheConcentratorsPublicKeyFromHQ0=, tunnel_address: 10.99.0.1 }',
    'uplinks: [ { name: eth1, kind: ethernet } ]', '',
  ].join('\n');
  writeFileSync(join(dir, 'etc/roamlink/agent.yaml'), agentYaml);
  assert.equal((await inRoot(dir, ['systemctl', 'enable', 'roamlink-hq'])).code, 0);
  // Probes on the packaged Node: shared/sdnotify.ts (READY with a status, then pings, or none when SDN_HEALTHY=0) and
  // shared/log.ts under journald (one line at each pino level).
  const node = '/opt/roamlink/node/bin/node';
  writeFileSync(join(dir, 'etc/systemd/system/sdn-probe@.service'), [
    '[Service]', 'Type=notify', 'NotifyAccess=main', 'WatchdogSec=2s', 'Environment=SDN_HEALTHY=%i',
    `ExecStart=${node} --input-type=module -e "const { startSdNotify } = await import('/opt/roamlink/dist/shared/sdnotify.js'); ` +
      `startSdNotify({ status: 'probe up', healthy: () => process.env.SDN_HEALTHY === '1', onError: (e) => console.error(e.message) }); setInterval(() => {}, 1000);"`, '',
  ].join('\n'));
  writeFileSync(join(dir, 'etc/systemd/system/log-probe.service'), [
    '[Service]', 'Type=oneshot',
    `ExecStart=${node} --input-type=module -e "const { createLogger } = await import('/opt/roamlink/dist/shared/log.js'); ` +
      `const l = createLogger({ name: 'probe', level: 'trace' }); for (const k of ['trace', 'debug', 'info', 'warn', 'error', 'fatal']) l[k]('probe ' + k);"`, '',
  ].join('\n'));
  rmSync(join(dir, 'usr/sbin/policy-rc.d'));
  assert.equal((await sh(['umount', join(dir, 'proc')])).code, 0);

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
    const exited = () => new Promise((res) => nspawn.once('exit', () => res(true)));
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
  phase('done');

  async function booted(): Promise<void> {
    await poll('the container to boot', 60_000, async () => {
      if (nspawn.exitCode !== null) assert.fail(`systemd-nspawn exited ${nspawn.exitCode}: ${bootLog.slice(-2000)}`);
      const kids = existsSync(`/proc/${nspawn.pid}/task/${nspawn.pid}/children`) ? readFileSync(`/proc/${nspawn.pid}/task/${nspawn.pid}/children`, 'utf8').trim() : '';
      init = Number(kids.split(/\s+/)[0]) || 0;
      if (!init) return 'no init yet';
      const b = await sh(['nsenter', '-t', String(init), '-a', 'systemctl', 'is-system-running'], { timeoutMs: 10_000 });
      return /running|degraded/.test(b.stdout) ? true : b.stdout.trim();
    });
    phase('booted');
    const c = (...argv: string[]) => sh(['nsenter', '-t', String(init), '-a', 'env', '-i', `PATH=${PATH}`, 'LC_ALL=C', ...argv], { timeoutMs: 120_000 });
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
    const status = async (pid: string) => Object.fromEntries((await c('cat', `/proc/${pid}/status`)).stdout.split('\n')
      .filter((l) => /^(Uid|Gid|Groups|CapEff|CapAmb|CapBnd|Name):/.test(l)).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]));
    const mainPid = async (unit: string) => (await c('systemctl', 'show', '-p', 'MainPID', '--value', unit)).stdout.trim();
    const exe = async (pid: string) => (await c('readlink', `/proc/${pid}/exe`)).stdout.trim();
    const NET_ADMIN = 1n << 12n, NET_RAW = 1n << 13n, NET_BIND_SERVICE = 1n << 10n;
    const caps = (hex: string | undefined) => BigInt(`0x${hex ?? '0'}`);
    const hqPid = await mainPid('roamlink-hq');
    const hqMain = await status(hqPid);
    t.diagnostic(`roamlink-hq main: Uid ${hqMain.Uid}, CapEff ${hqMain.CapEff}, CapBnd ${hqMain.CapBnd}`);
    assert.equal(await exe(hqPid), node, 'HQ runs on the packaged Node');
    assert.equal(hqMain.Uid?.split(/\s+/)[0], String(uid), 'HQ runs as roamlink');
    assert.equal(caps(hqMain.CapEff), NET_ADMIN, 'HQ has CAP_NET_ADMIN only');
    const wgGo = async () => {
      const pids = (await c('pgrep', '-x', 'wireguard-go')).stdout.split(/\s+/).filter(Boolean);
      return Promise.all(pids.map(status));
    };
    for (const w of await wgGo()) {
      assert.equal(w.Uid?.split(/\s+/)[0], String(uid), 'wireguard-go runs as roamlink');
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

    // journald priorities from pino's levels: each line's PRIORITY, `journalctl -p warning` keeps warn, error and
    // fatal, and the lines it shows are still JSON. The daemon's own lines carry theirs.
    assert.equal((await c('systemctl', 'start', 'log-probe')).code, 0);
    type Entry = { MESSAGE?: string; PRIORITY?: string };
    const entries = async (...args: string[]) => (await c('journalctl', '-o', 'json', '--no-pager', ...args)).stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Entry);
    let probe: Entry[] = [];
    await poll('the log probe\'s six lines in the journal', 10_000, async () => {
      probe = (await entries('-u', 'log-probe')).filter((e) => e.MESSAGE?.includes('"msg":"probe '));
      return probe.length === 6 ? true : JSON.stringify(probe);
    });
    // (Sorted: lines written within the same microsecond may come back from the journal in any order.)
    assert.deepEqual(probe.map((e) => [(JSON.parse(e.MESSAGE!) as { level: number }).level, e.PRIORITY]).sort((x, y) => Number(x[0]) - Number(y[0])),
      [[10, '7'], [20, '7'], [30, '6'], [40, '4'], [50, '3'], [60, '2']]);
    const warnings = (await c('journalctl', '-u', 'log-probe', '-p', 'warning', '-o', 'cat', '--no-pager')).stdout.trim().split('\n');
    assert.deepEqual(warnings.map((l) => (JSON.parse(l) as { msg: string }).msg).sort(), ['probe error', 'probe fatal', 'probe warn']);
    const ready = (await entries('-u', 'roamlink-hq')).find((e) => e.MESSAGE?.includes('concentrator ready'));
    assert.equal(ready?.PRIORITY, '6', 'the concentrator\'s "ready" (info) at priority 6');
    assert.equal((JSON.parse(ready!.MESSAGE!) as { level: number }).level, 30);

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
    const agentPid = await mainPid('roamlink-agent');
    const agentMain = await status(agentPid);
    t.diagnostic(`roamlink-agent main: Uid ${agentMain.Uid}, Groups ${agentMain.Groups}, CapEff ${agentMain.CapEff}`);
    assert.equal(await exe(agentPid), node, 'the agent runs on the packaged Node');
    assert.equal(agentMain.Uid?.split(/\s+/)[0], String(uid), 'the agent runs as roamlink');
    assert.equal(caps(agentMain.CapEff), NET_ADMIN | NET_RAW | NET_BIND_SERVICE, 'the agent has the three network capabilities only');
    const dialout = (await c('getent', 'group', 'dialout')).stdout.split(':')[2];
    assert.ok(agentMain.Groups?.split(/\s+/).includes(dialout!), 'the agent is in dialout (the modem\'s AT ports)');
    const wgs = await wgGo();
    assert.equal(wgs.length, 2, 'two wireguard-go: HQ\'s and the agent\'s (made by the unit\'s ExecStartPre=+)');
    for (const w of wgs) assert.deepEqual([w.Uid?.split(/\s+/)[0], caps(w.CapEff)], [String(uid), NET_ADMIN], 'each wireguard-go: roamlink, CAP_NET_ADMIN only');
    assert.match(await journal('roamlink-agent'), /tunnel interface found: adopted/, 'the agent adopted the interface its ExecStartPre made');
    for (const unit of ['roamlink-hq', 'roamlink-agent']) {
      assert.doesNotMatch(await journal(unit), /not permitted|EPERM|EACCES|Permission denied|Read-only file system/i, unit);
    }
    phase('both daemons checked');

    // Upgrade in the running system: config (the operator's agent.yaml, the keys) and state (the registry) kept, the
    // example hq.yaml nobody changed replaced by the new one; both daemons restarted onto the new version, HQ adopting
    // its interface (a restart keeps the tunnels).
    const ifindex = async () => (JSON.parse((await c('ip', '-j', 'link', 'show', 'roamlink-hq')).stdout || '[]') as Array<{ ifindex: number }>)[0]?.ifindex;
    const hqIf = await ifindex();
    assert.notEqual(hqIf, undefined, 'the HQ interface');
    const keys = readFileSync(join(root, 'etc/roamlink/hq.key'), 'utf8') + readFileSync(join(root, 'etc/roamlink/agent.key'), 'utf8');
    const up = await c('env', 'DEBIAN_FRONTEND=noninteractive', 'apt', 'install', '-y', '-q', inDir(newer));
    assert.equal(up.code, 0, `apt install ${newer}:\n${up.stdout}\n${up.stderr}`);
    phase('upgraded');
    assert.equal((await c('dpkg-query', '-W', '-f=${Version} ${Status}', 'roamlink')).stdout, `${version}+t2 install ok installed`);
    assert.match(readFileSync(join(root, 'opt/roamlink/.install'), 'utf8'), new RegExp(`^version=${version.replace(/\./g, '\\.')}\\+t2$`, 'm'));
    assert.equal(readFileSync(join(root, 'etc/roamlink/agent.yaml'), 'utf8'), agentYaml, 'the operator\'s agent.yaml');
    assert.ok(!existsSync(join(root, 'etc/roamlink/agent.yaml.dpkg-new')) && !existsSync(join(root, 'etc/roamlink/agent.yaml.dpkg-dist')));
    assert.match(readFileSync(join(root, 'etc/roamlink/hq.yaml'), 'utf8'), /# changed in .*\+t2\n$/, 'the unchanged example hq.yaml follows the package');
    assert.equal(readFileSync(join(root, 'etc/roamlink/hq.key'), 'utf8') + readFileSync(join(root, 'etc/roamlink/agent.key'), 'utf8'), keys);
    const list = await c('roamlink', 'vehicle', 'list', '--json');
    assert.deepEqual(list.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { name: string; public_key: string }).public_key), [pub], 'the registry');
    for (const [unit, before] of [['roamlink-hq', hqPid], ['roamlink-agent', agentPid]] as const) {
      await poll(`${unit} to run again after the upgrade`, 30_000, async () => {
        const s = await show(unit);
        return s.ActiveState === 'active' && (await mainPid(unit)) !== before ? true : JSON.stringify(s);
      });
    }
    await poll('the concentrator to adopt its interface', 20_000, async () => ((await journal('roamlink-hq')).includes('interface adopted') ? true : (await journal('roamlink-hq')).slice(-1500)));
    assert.equal(await ifindex(), hqIf, 'the interface survived the upgrade');

    // Purge: the daemons stop for good (interfaces removed), and nothing of roamlink is left but the .debs we brought.
    const purge = await c('env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'purge', '-y', '-q', 'roamlink');
    assert.equal(purge.code, 0, `${purge.stdout}\n${purge.stderr}`);
    phase('purged');
    for (const unit of ['roamlink-agent', 'roamlink-hq']) assert.notEqual((await show(unit)).ActiveState, 'active', unit);
    for (const ifname of ['roamlink0', 'roamlink-hq']) assert.notEqual((await c('ip', 'link', 'show', ifname)).code, 0, `${ifname} left behind`);
    assert.equal((await c('pgrep', '-x', 'wireguard-go')).stdout.trim(), '', 'a wireguard-go left running');
    assert.notEqual((await c('getent', 'passwd', 'roamlink')).code, 0, 'the user roamlink');
    assert.notEqual((await c('getent', 'group', 'roamlink')).code, 0, 'the group roamlink');
    const left = await c('find', '/', '-xdev', '(', '-path', '/proc', '-o', '-path', '/sys', '-o', '-path', '/dev', '-o', '-path', '/var/tmp', '-o', '-path', '/tmp',
      '-o', '-path', '/var/cache/apt/archives', '-o', '-path', '/var/log/journal', ')', '-prune', '-o', '-name', '*roamlink*', '-print');
    assert.equal(left.stdout.trim(), '', 'files left after the purge');
    assert.ok(!existsSync(join(root, 'run/roamlink')), '/run/roamlink left after the purge');
  }
});
