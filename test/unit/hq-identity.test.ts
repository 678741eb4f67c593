// `roamlink hq identity export|import` (issue 14, two concentrators): hq-a's WireGuard key and admin certificate and
// key written on hq-b where its hq.yaml says, mode 0600; a different key there refused unless --force, nothing changed;
// a bundle open to others or not one refused; no private key in any output or error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../../bin/roamlink', import.meta.url));
const KEY_A = 'KPD+e8mvLdOOI+Wl9HYVjuOXj4U/izotj3qE2CZTbUA=';
const KEY_B = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 30_000 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

/** A machine's /etc/roamlink: hq.yaml with admin_tls, and (when given) its key and a certificate pair of its own. */
function machine(root: string, name: string, key: string | null): { config: string; dir: string } {
  const dir = join(root, name);
  mkdirSync(join(dir, 'state'), { recursive: true });
  if (key) {
    writeFileSync(join(dir, 'hq.key'), `${key}\n`, { mode: 0o600 });
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', `/CN=${name}`,
      '-keyout', join(dir, 'admin.key'), '-out', join(dir, 'admin.crt')], { stdio: 'ignore' });
    chmodSync(join(dir, 'admin.key'), 0o600);
  }
  const config = join(dir, 'hq.yaml');
  writeFileSync(config, ['interface: rl-hq0', 'private_key_file: hq.key', 'tunnel_network: 10.99.0.0/24', 'state_dir: state', 'control_socket: hq.sock',
    'admin_listen: 127.0.0.1:8443', 'admin_tls: { cert: admin.crt, key: admin.key }', ''].join('\n'));
  return { config, dir };
}

test('identity: exported from hq-a (mode 0600), imported on hq-b: the same key and certificate, key files 0600; refusals change nothing; no private key in any output', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'rl-identity-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const a = machine(root, 'hq-a', KEY_A);
  const b = machine(root, 'hq-b', null);
  const outputs: string[] = [];
  const run = async (args: string[]) => {
    const r = await cli(args);
    outputs.push(r.stdout, r.stderr);
    return r;
  };
  const bundle = join(root, 'hq-a.identity');

  const ex = await run(['hq', 'identity', 'export', bundle, '--config', a.config]);
  assert.equal(ex.code, 0, ex.stderr);
  assert.equal(statSync(bundle).mode & 0o777, 0o600);
  assert.match(ex.stderr, /admin certificate SHA-256 [0-9A-F:]{95}/);
  assert.equal((await run(['hq', 'identity', 'export', bundle, '--config', a.config])).code, 2, 'an existing file is not overwritten');

  // hq-b's hq.yaml names where they go; nothing there yet.
  const im = await run(['hq', 'identity', 'import', bundle, '--config', b.config]);
  assert.equal(im.code, 0, im.stderr);
  for (const f of ['hq.key', 'admin.crt', 'admin.key']) assert.equal(readFileSync(join(b.dir, f), 'utf8').trim(), readFileSync(join(a.dir, f), 'utf8').trim(), f);
  assert.equal(statSync(join(b.dir, 'hq.key')).mode & 0o777, 0o600);
  assert.equal(statSync(join(b.dir, 'admin.key')).mode & 0o777, 0o600);
  const pub = async (c: string) => (await run(['hq', 'pubkey', '--config', c])).stdout.trim();
  assert.equal(await pub(b.config), await pub(a.config), 'one WireGuard identity');
  const fp = (d: string) => execFileSync('openssl', ['x509', '-in', join(d, 'admin.crt'), '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' });
  assert.equal(fp(b.dir), fp(a.dir), 'one admin certificate');
  assert.deepEqual(JSON.parse(im.stdout), { public_key: await pub(a.config), admin_sha256: fp(a.dir).split('=')[1]!.trim() });
  assert.match(im.stderr, /private_key_file: written, admin_tls.cert: written, admin_tls.key: written/);
  assert.match((await run(['hq', 'identity', 'import', bundle, '--config', b.config])).stderr, /private_key_file: unchanged, admin_tls.cert: unchanged, admin_tls.key: unchanged/);

  // hq-c has a key of its own: refused, naming the file, nothing written (not even the certificate); --force replaces.
  const c = machine(root, 'hq-c', KEY_B);
  const before = ['hq.key', 'admin.crt', 'admin.key'].map((f) => readFileSync(join(c.dir, f), 'utf8'));
  const refused = await run(['hq', 'identity', 'import', bundle, '--config', c.config]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /private_key_file: .*hq-c\/hq.key exists and differs .*--force/);
  assert.deepEqual(['hq.key', 'admin.crt', 'admin.key'].map((f) => readFileSync(join(c.dir, f), 'utf8')), before);
  assert.equal((await run(['hq', 'identity', 'import', bundle, '--config', c.config, '--force'])).code, 0);
  assert.equal(await pub(c.config), await pub(a.config));

  // A bundle others can read, or not a bundle: refused, named.
  chmodSync(bundle, 0o644);
  const open = await run(['hq', 'identity', 'import', bundle, '--config', b.config]);
  assert.equal(open.code, 2);
  assert.match(open.stderr, /FILE: .* accessible to group or others .*chmod 600/);
  const junk = join(root, 'junk');
  writeFileSync(junk, JSON.stringify({ format: 'roamlink-hq-identity', version: 1, wireguard_private_key: 'x'.repeat(44) }), { mode: 0o600 });
  const bad = await run(['hq', 'identity', 'import', junk, '--config', b.config]);
  assert.equal(bad.code, 2);
  assert.ok(!existsSync(join(root, 'hq-b', 'hq.key.tmp')), 'nothing half-written');

  // No private key anywhere in what the commands printed.
  const all = outputs.join('\n');
  const adminKey = readFileSync(join(a.dir, 'admin.key'), 'utf8');
  const keyBody = adminKey.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
  for (const [what, secret] of [['hq-a key', KEY_A], ['hq-c key', KEY_B], ['admin key', keyBody.slice(0, 40)], ['junk', 'x'.repeat(44)]]) {
    assert.ok(!all.includes(secret!), `${what} appears in an output or error`);
  }
});

test("HQ's key in the registry: a start with another key (a reinstall's new key, a second HQ without the import) is refused before the interface is touched, until `identity adopt`", async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'rl-identity-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const hq = machine(root, 'hq', KEY_A);
  const { loadHqConfig } = await import('../../shared/config/hq.js');
  const { startHq } = await import('../../concentrator/daemon.js');
  const { createLogger } = await import('../../shared/log.js');
  const { publicKeyOf } = await import('../../shared/wg.keys.js');
  const touched: string[] = [];
  // The WireGuard driver, faked: the start is stopped where it would first touch the interface.
  const wg = new Proxy({}, { get: (_o, name) => async () => { touched.push(String(name)); throw new Error('the interface: here the start goes on'); } });
  const start = async () => startHq(await loadHqConfig(hq.config), { log: createLogger({ name: 'hq', level: 'silent' }), wg: wg as never });

  await assert.rejects(start(), /the interface: here the start goes on/, 'the first start records its key and goes on');
  assert.deepEqual(touched, ['createInterface']);
  writeFileSync(join(hq.dir, 'hq.key'), `${KEY_B}\n`, { mode: 0o600 }); // a reinstall made a new key
  touched.length = 0;
  const refused = await start().then(() => null, (e: Error) => e);
  assert.ok(refused, 'refused');
  assert.match(refused.message, new RegExp(`^private_key_file: its public key ${esc(publicKeyOf(KEY_B))} is not HQ's \\(${esc(publicKeyOf(KEY_A))}, recorded by `));
  assert.ok(!refused.message.includes(KEY_A) && !refused.message.includes(KEY_B), 'no private key in the error');
  assert.deepEqual(touched, [], 'the interface untouched');

  const r = await cli(['hq', '--config', hq.config, 'identity', 'adopt']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { public_key: publicKeyOf(KEY_B), was: publicKeyOf(KEY_A) });
  assert.match(r.stderr, /every vehicle needs the new one/);
  assert.ok(![r.stdout, r.stderr].some((o) => o.includes(KEY_A) || o.includes(KEY_B)), 'no private key in the output');
  await assert.rejects(start(), /the interface: here the start goes on/, 'adopted: it starts');
});

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
