// Lab test of deploy/install.sh (root): a fresh Debian root from debootstrap, both roles installed into it, a vehicle enrolled.
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
