// Lab tests' Debian roots (root): a fresh debootstrap root per test, from a cached tarball; commands in it with a
// clean environment; polling. Used by install.test (install.sh) and package.test (the .deb).
//
//   /var/cache/roamlink-test/SUITE-ARCH.tar    the bootstrapped root (minbase + systemd), made once, unpacked per run
//   /var/cache/roamlink-test/archives/         apt's .deb cache, bind-mounted into the root while the test runs
//   $TMP/rlt-inst-*/                           the root
//
// Set ROAMLINK_TEST_SUITE=trixie to try Debian 13.
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const SUITE = process.env.ROAMLINK_TEST_SUITE || 'bookworm';
export const CACHE = '/var/cache/roamlink-test';
export const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs argv with a deadline (the child is killed at it); never throws on a non-zero exit. */
export function sh(argv: string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Ran> {
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
export function inRoot(dir: string, argv: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<Ran> {
  return sh(['chroot', dir, ...argv], { ...opts, env: { PATH, HOME: '/root', LC_ALL: 'C' } });
}

/** The Debian mirror this machine's apt uses for SUITE's archive (the suite itself may be newer than ours). */
export function debianMirror(): string | null {
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

export const hostArch = spawnSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).stdout?.trim() || 'amd64';
export const skip =
  (process.getuid?.() !== 0 && 'needs root (debootstrap, chroot)') ||
  (spawnSync('debootstrap', ['--version']).error && 'debootstrap is not installed (Debian package `debootstrap`)') ||
  (!existsSync(join(ROOT, 'dist/cli/main.js')) && 'not built') ||
  false;

/** A fresh root: the cached bootstrap unpacked, or debootstrap run now (then cached). Skips when the mirror is unreachable. */
export async function freshRoot(t: TestContext): Promise<string | null> {
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

/** Polls `check` every 200 ms until it returns true; fails after `ms` with `what` and the last detail it gave. */
export async function poll(what: string, ms: number, check: () => Promise<true | string>): Promise<void> {
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

export const noNspawn = spawnSync('systemd-nspawn', ['--version']).error && 'systemd-nspawn is not installed (Debian package `systemd-container`)';
