// A token per operator: the operators file (hashes only, mode 0600, bad lines named and not quoted), the table that
// names the operator a token belongs to, and the whole path through the running concentrator's fleet ops: the CLI
// adds and removes operators and the daemon takes it at once; the audit names the token's operator whatever header the
// client sends; a bad file keeps the old table; no token reaches a log line, an error or an answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import Fastify from 'fastify';
import { LEGACY_OPERATOR, OperatorTable, formatOperators, newToken, parseOperators, tokenHash, writeOperatorsFile } from '../../concentrator/admin/operators.js';
import { installAccessGuard } from '../../concentrator/admin/access.js';
import { startFleetOps } from '../../concentrator/admin/fleet-ops.js';
import { controlRequest } from '../../shared/control.js';
import { openStores } from '../../concentrator/store/stores.js';
import { loadHqConfig } from '../../shared/config/hq.js';
import { InputError } from '../../shared/errors.js';
import { installErrorHandling } from '../../shared/http/errors.js';
import { createLogger } from '../../shared/log.js';

const BIN = fileURLToPath(new URL('../../../bin/roamlink', import.meta.url));
const WG_KEY = 'KPD+e8mvLdOOI+Wl9HYVjuOXj4U/izotj3qE2CZTbUA=';

test('the operators file: NAME sha256:HEX lines round-trip; a bad line is named by number and never quoted', async () => {
  const a = newToken();
  const b = newToken();
  assert.match(a, /^rl_[A-Za-z0-9_-]{43}$/);
  assert.notEqual(a, b);
  const ops = [{ name: 'ann', sha256: tokenHash(a) }, { name: 'bob.smith', sha256: tokenHash(b) }];
  const text = formatOperators(ops);
  assert.ok(!text.includes(a) && !text.includes(b), 'the file holds hashes, not tokens');
  assert.deepEqual(parseOperators(text, 'ops'), ops);
  const table: Array<[string, RegExp]> = [
    [`ann ${a}\n`, /ops line 1: not "NAME sha256:HEX"/],
    [`# x\n\n${a}\n`, /ops line 3: not "NAME sha256:HEX"/],
    [`Ann sha256:${tokenHash(a)}\n`, /line 1: not an operator name/],
    [`ann sha256:${tokenHash(a)}\nann sha256:${tokenHash(b)}\n`, /line 2: operator ann appears twice/],
    [`ann sha256:${tokenHash(a).slice(1)}\n`, /line 1: not "NAME sha256:HEX"/],
  ];
  for (const [bad, want] of table) {
    assert.throws(() => parseOperators(bad, 'ops'), (e: unknown) => {
      assert.ok(e instanceof InputError && e.field === 'admin_operators_file');
      assert.match(e.message, want);
      assert.ok(!e.message.includes(a) && !e.message.includes(a.slice(3, 20)), 'a token pasted into the file is not quoted');
      return true;
    });
  }
});

test('the table: each token names its operator; a wrong, shortened, lengthened or bare token names nobody', async () => {
  const a = newToken();
  const b = newToken();
  const t = new OperatorTable([{ name: 'ann', sha256: tokenHash(a) }, { name: 'bob', sha256: tokenHash(b) }]);
  const table: Array<[string | undefined, string | null]> = [
    [`Bearer ${a}`, 'ann'], [`Bearer ${b}`, 'bob'], [`bearer ${b} `, 'bob'], [`Bearer ${a}x`, null], [`Bearer ${a.slice(0, -1)}`, null],
    [a, null], [`Basic ${a}`, null], [`Bearer ${a} ${b}`, null], ['Bearer ', null], [undefined, null],
  ];
  for (const [h, want] of table) assert.equal(t.authenticate(h), want, String(h));
  t.replace([{ name: 'bob', sha256: tokenHash(b) }]);
  assert.equal(t.authenticate(`Bearer ${a}`), null, 'replaced whole');
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 30_000 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

test('through the running fleet ops: an old operators file adopted into the store; operator add/remove take effect at once, the audit names the token\'s operator not a header, the legacy token is "admin", and no token is logged', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rl-operators-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'hq.key'), `${WG_KEY}\n`, { mode: 0o600 });
  const legacy = 'legacy-token-0123456789abcdef';
  writeFileSync(join(dir, 'admin.token'), `${legacy}\n`, { mode: 0o600 });
  const { execFileSync } = await import('node:child_process');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=t',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'admin.key'), '-out', join(dir, 'admin.crt')], { stdio: 'ignore' });
  chmodSync(join(dir, 'admin.key'), 0o600);
  mkdirSync(join(dir, 'state'));
  const port = await freePort();
  const config = join(dir, 'hq.yaml');
  writeFileSync(config, ['interface: rl-hq0', 'private_key_file: hq.key', 'tunnel_network: 10.99.0.0/24', 'state_dir: state',
    'control_socket: hq.sock', `admin_listen: 127.0.0.1:${port}`, 'admin_tls: { cert: admin.crt, key: admin.key }', 'admin_token_file: admin.token', ''].join('\n'));
  const loaded = await loadHqConfig(config);
  assert.equal(loaded.admin_operators_file, join(dir, 'state', 'operators'), 'default: STATE_DIR/operators');
  const ann = newToken();
  // ann from before the store held the operators: her file is adopted at start and renamed.
  await writeOperatorsFile(loaded.admin_operators_file, [{ name: 'ann', sha256: tokenHash(ann) }]);

  const lines: string[] = [];
  const log = createLogger({ name: 'hq', level: 'trace', destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) });
  const stores = await openStores(loaded);
  const adminApp = Fastify();
  installErrorHandling(adminApp, { surface: 'test socket' });
  installAccessGuard(adminApp, () => '');
  // The agents' API on loopback: this test has no tunnel address.
  const ops = await startFleetOps({ cfg: { ...loaded, tunnel_address: '127.0.0.1', agent_api_port: 0 }, stores, log, adminApp });
  await adminApp.listen({ path: loaded.control_socket });
  t.after(async () => {
    await adminApp.close();
    await ops.close();
    await stores.close();
  });
  const ca = readFileSync(join(dir, 'admin.crt'), 'utf8');
  const bodies: string[] = [];
  const call = (method: string, path: string, headers: Record<string, string>, body?: object) => new Promise<{ status: number; json: any }>((resolve, reject) => {
    const data = body ? JSON.stringify(body) : undefined;
    const req = httpsRequest({ host: '127.0.0.1', port, path, method, ca, agent: false, timeout: 5000, headers: { ...headers, ...(data ? { 'content-type': 'application/json' } : {}) } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c));
      res.on('end', () => {
        bodies.push(text);
        resolve({ status: res.statusCode ?? 0, json: JSON.parse(text || 'null') });
      });
    });
    req.on('error', reject);
    req.end(data);
  });
  const whoami = async (token: string, extra: Record<string, string> = {}) => {
    const r = await call('GET', '/v1/whoami', { authorization: `Bearer ${token}`, ...extra });
    return r.status === 200 ? r.json.operator : r.status;
  };

  assert.equal(await whoami(ann), 'ann');
  assert.ok(!existsSync(loaded.admin_operators_file) && existsSync(`${loaded.admin_operators_file}.in-store`), 'the old file moved into the store');
  assert.ok(lines.some((l) => l.includes('admin operators file moved into the store')));
  assert.equal(await whoami(legacy), LEGACY_OPERATOR, 'the old single token still signs in, as "admin"');
  assert.equal((await call('GET', '/v1/whoami', { 'x-roamlink-operator': 'ann' })).status, 401, 'a header alone is nobody');

  // The CLI adds bob: his token printed once (stdout), the daemon takes it at once.
  const add = await cli(['hq', 'operator', 'add', 'bob', '--config', config]);
  assert.equal(add.code, 0, add.stderr);
  const bob = add.stdout.trim();
  assert.match(bob, /^rl_[A-Za-z0-9_-]{43}$/);
  assert.match(add.stderr, /the running concentrator has the change/);
  assert.equal(await whoami(bob), 'bob');
  assert.ok(!readFileSync(join(dir, 'state', 'registry.sqlite')).includes(bob), 'only the hash is stored');
  const again = await cli(['hq', 'operator', 'add', 'bob', '--config', config]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /NAME: operator bob exists/);
  assert.equal((await cli(['hq', 'operator', 'add', 'Bob Smith', '--config', config])).code, 2);

  // The audit: bob's token with a header claiming ann is bob.
  const site = await call('POST', '/v1/sites', { authorization: `Bearer ${bob}`, 'x-roamlink-operator': 'ann' }, { name: 'depot', match: { ssid: ['depot'] } });
  assert.equal(site.status, 201);
  assert.equal((await call('PATCH', '/v1/sites/depot', { authorization: `Bearer ${ann}`, 'x-roamlink-operator': 'bob' }, { profile: { hold_ms: 2000 } })).status, 200);
  const history = await call('GET', '/v1/sites/depot/history', { authorization: `Bearer ${ann}` });
  assert.deepEqual(history.json.history.map((h: { who: string }) => h.who), ['dashboard:bob', 'dashboard:ann']);

  // Remove ann: her token stops at once; list shows the rest.
  const rm = await cli(['hq', 'operator', 'remove', 'ann', '--config', config]);
  assert.equal(rm.code, 0, rm.stderr);
  assert.equal(await whoami(ann), 401);
  assert.equal(await whoami(bob), 'bob');
  const list = await cli(['hq', 'operator', 'list', '--json', '--config', config]);
  assert.deepEqual(list.stdout.trim().split('\n').map((l) => JSON.parse(l).name), ['bob']);
  assert.equal((await cli(['hq', 'operator', 'remove', 'ann', '--config', config])).code, 2);

  // An old file put back open to others (copied by hand from the other machine) is refused on reload, naming the
  // field and not adopted; the table in force stays. Closed, it is adopted: ann, removed since, does not come back.
  await writeOperatorsFile(loaded.admin_operators_file, [{ name: 'ann', sha256: tokenHash(ann) }]);
  chmodSync(loaded.admin_operators_file, 0o644);
  const bad = await controlRequest(loaded.control_socket, 'POST', '/v1/operators/reload');
  assert.equal(bad?.status, 400);
  assert.match(JSON.stringify(bad?.body), /admin_operators_file: .*chmod 600/);
  assert.equal(await whoami(bob), 'bob');
  chmodSync(loaded.admin_operators_file, 0o600);
  assert.equal((await controlRequest(loaded.control_socket, 'POST', '/v1/operators/reload'))?.status, 200);
  assert.equal(await whoami(ann), 401, 'removed in the store: an old file does not bring her back');

  // The migration: the old token adopted as a named operator; from then on the audit names carol, not "admin".
  const adopt = await cli(['hq', 'operator', 'add', 'carol', '--token-file', join(dir, 'admin.token'), '--config', config]);
  assert.equal(adopt.code, 0, adopt.stderr);
  assert.equal(adopt.stdout, '', 'an adopted token is not printed');
  assert.equal(await whoami(legacy), 'carol');
  assert.equal((await cli(['hq', 'operator', 'add', 'dave', '--token-file', join(dir, 'admin.token'), '--config', config])).code, 2, 'one token, one operator');

  // No token anywhere but where it was meant to go (the add's stdout).
  const everything = [...lines, ...bodies, add.stderr, again.stdout, again.stderr, rm.stdout, rm.stderr, list.stdout, list.stderr, adopt.stderr, JSON.stringify(bad?.body)].join('\n');
  for (const [name, token] of [['ann', ann], ['bob', bob], ['legacy', legacy]]) {
    assert.ok(!everything.includes(token!), `${name}'s token appears in a log line, an error or an answer`);
    assert.ok(!everything.includes(tokenHash(token!)), `${name}'s token hash appears in a log line`);
  }
  assert.ok(lines.some((l) => l.includes('"operators"')), 'the log names the operators loaded');
});
