// The arm64 package, cross-built on this amd64 machine (`deploy/package.sh --arch arm64`) and run under Debian's
// qemu-user: every binary in it is aarch64, its Depends are arm64's real library packages, and the packaged app on
// its packaged Node starts, validates a config and keeps a registry in SQLite (the cross-compiled better-sqlite3). What
// it does not show: a boot under systemd on an arm64 machine (package.test does that for amd64).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, readSync, closeSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostArch, ROOT, sh } from './debroot.js';

const EM_AARCH64 = 183;
const EM_X86_64 = 62;
const has = (cmd: string) => !spawnSync(cmd, ['--version']).error;
const missing = hostArch !== 'amd64' ? `cross-built from amd64 only (this machine is ${hostArch})`
  : !has('aarch64-linux-gnu-g++') ? 'no cross compiler (Debian package g++-aarch64-linux-gnu)'
  : !has('qemu-aarch64-static') ? 'no qemu-user (Debian package qemu-user-static)'
  : spawnSync('dpkg-query', ['-W', 'libc6:arm64', 'libstdc++6:arm64', 'libgcc-s1:arm64']).status !== 0 ? "no arm64 libraries (dpkg --add-architecture arm64; libc6:arm64 libstdc++6:arm64 libgcc-s1:arm64)"
  : false;

/** The ELF machine of a file, or null when it is not an ELF file. */
function elfMachine(path: string): number | null {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(20);
    if (readSync(fd, b, 0, 20, 0) < 20 || b.readUInt32BE(0) !== 0x7f454c46) return null;
    return b.readUInt16LE(18);
  } finally {
    closeSync(fd);
  }
}

function* files(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* files(p);
    else if (e.isFile()) yield p;
  }
}

test('the arm64 .deb, cross-built: aarch64 binaries only, arm64 Depends, and the app runs on its Node under qemu-user', {
  skip: missing, timeout: 600_000,
}, async (t) => {
  const t0 = Date.now();
  const phase = (what: string) => t.diagnostic(`${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const out = mkdtempSync(join(tmpdir(), 'rlt-arm64-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));

  const built = await sh(['bash', join(ROOT, 'deploy/package.sh'), '--fast', '--arch', 'arm64', '--out', out], { timeoutMs: 540_000 });
  assert.equal(built.code, 0, built.stderr);
  const deb = built.stdout.trim().split('\n').pop()!;
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  assert.equal(deb, join(out, `roamlink_${version}_arm64.deb`));
  phase('cross-built the .deb');

  // Its control: arm64, and the libraries as arm64's own packages name them (not the cross toolchain's).
  const info = (await sh(['dpkg-deb', '-f', deb])).stdout;
  assert.match(info, /^Architecture: arm64$/m);
  const depends = /^Depends: (.*)$/m.exec(info)?.[1] ?? '';
  assert.match(depends, /(^|, )libc6 \(>= 2\.\d+\)/, depends);
  assert.match(depends, /(^|, )libstdc\+\+6 \(>= \d+\)/, depends);
  assert.doesNotMatch(depends, /:arm64|-cross/, depends);

  // Every ELF file in it is aarch64: Node, the native modules (compiled here), serialport's prebuilt binding.
  const x = join(out, 'x');
  assert.equal((await sh(['dpkg-deb', '-x', deb, x], { timeoutMs: 120_000 })).code, 0);
  const elves = [...files(x)].map((f) => ({ f: f.slice(x.length + 1), m: elfMachine(f) })).filter((e) => e.m !== null);
  const names = elves.map((e) => e.f);
  for (const want of ['opt/roamlink/node/bin/node', 'better_sqlite3.node', 'unix_dgram.node', 'bindings-cpp']) {
    assert.ok(names.some((n) => n.includes(want)), `${want} in ${names.join(', ')}`);
  }
  assert.deepEqual(elves.filter((e) => e.m !== EM_AARCH64).map((e) => `${e.f}: ${e.m === EM_X86_64 ? 'x86-64' : e.m}`), []);

  // The packaged app on the packaged Node, under qemu-user: its version, a config checked, a vehicle registered in
  // SQLite without a daemon (better-sqlite3 loads), listed back; a missing config is bad input.
  const node = join(x, 'opt/roamlink/node/bin/node');
  const app = join(x, 'opt/roamlink/bin/roamlink');
  const run = (...args: string[]) => sh(['qemu-aarch64-static', node, app, ...args], { timeoutMs: 120_000 });
  const arch = await sh(['qemu-aarch64-static', node, '-p', 'process.arch + " " + process.version']);
  assert.equal(arch.stdout.trim(), `arm64 v${/^ROAMLINK_NODE_VERSION=(\S+)$/m.exec(readFileSync(join(ROOT, 'deploy/runtime.sh'), 'utf8'))![1]}`, arch.stderr);
  const hq = join(out, 'hq');
  mkdirSync(hq);
  const key = spawnSync('wg', ['genkey'], { encoding: 'utf8' }).stdout.trim();
  writeFileSync(join(hq, 'hq.key'), `${key}\n`, { mode: 0o600 });
  const config = join(hq, 'hq.yaml');
  writeFileSync(config, `interface: rl-arm0\nprivate_key_file: ${join(hq, 'hq.key')}\ntunnel_network: 10.99.0.0/24\nstate_dir: ${join(hq, 'state')}\ncontrol_socket: ${join(hq, 'hq.sock')}\nlan_subnets: [192.168.10.0/24]\n`);
  const check = await run('hq', '--check', '--config', config);
  assert.equal(check.code, 0, check.stderr);
  const vehicleKey = spawnSync('wg', ['genkey'], { encoding: 'utf8' }).stdout.trim();
  const pub = spawnSync('wg', ['pubkey'], { input: `${vehicleKey}\n`, encoding: 'utf8' }).stdout.trim();
  const add = await run('vehicle', 'add', 'car-1', '--subnet', '10.21.0.0/24', '--pubkey', pub, '--config', config);
  assert.equal(add.code, 0, add.stderr);
  assert.match(add.stdout, /vehicle car-1 added: tunnel address 10\.99\.0\.2, subnet 10\.21\.0\.0\/24/);
  const list = await run('vehicle', 'list', '--json', '--config', config);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /"car-1"/);
  assert.ok(statSync(join(hq, 'state')).isDirectory());
  const bad = await run('hq', '--check', '--config', join(hq, 'nope.yaml'));
  assert.equal(bad.code, 2, 'a missing config is bad input on arm64 too');
  phase('ran under qemu-user');
});
