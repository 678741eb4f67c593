// The admin listener over TLS: the hq config's admin_tls / admin_plain_http rules, the certificate and key checked
// (each refusal naming its field, never quoting the key), and real HTTPS on a socket with a certificate made here by
// openssl: a client trusting it gets the API with a token, a client that does not is refused, plain HTTP gets nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadHqConfig } from '../../shared/config/hq.js';
import { loadAdminTls } from '../../shared/config/admin-tls.js';
import { InputError } from '../../shared/errors.js';
import { TOKEN, dashboardFixture } from './dashboard.fixtures.test.js';
import { makeCert } from './tls.fixture.js';

const WG_KEY = 'KPD+e8mvLdOOI+Wl9HYVjuOXj4U/izotj3qE2CZTbUA=';

function tmp(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'rl-admintls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'hq.key'), `${WG_KEY}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'admin.token'), `${TOKEN}\n`, { mode: 0o600 });
  return dir;
}

const base = 'interface: rl-hq0\nprivate_key_file: hq.key\ntunnel_network: 10.99.0.0/24\nstate_dir: state\nadmin_token_file: admin.token\n';

test('hq config: HTTPS needs admin_tls; plain HTTP only when asked for on loopback; each refusal names its field', async (t) => {
  const dir = tmp(t);
  makeCert(dir, 'admin');
  const file = join(dir, 'hq.yaml');
  const table: Array<{ name: string; yaml: string; want: RegExp | 'ok' }> = [
    { name: 'no admin listener: nothing needed', yaml: base, want: 'ok' },
    { name: 'TLS with a pair', yaml: `${base}admin_listen: 0.0.0.0:8443\nadmin_tls: { cert: admin.crt, key: admin.key }\n`, want: 'ok' },
    { name: 'neither TLS nor plain', yaml: `${base}admin_listen: 127.0.0.1:8443\n`, want: /admin_tls: needed with admin_listen/ },
    { name: 'plain on loopback v4', yaml: `${base}admin_listen: 127.0.0.1:8080\nadmin_plain_http: true\n`, want: 'ok' },
    { name: 'plain on 127.3.4.5', yaml: `${base}admin_listen: 127.3.4.5:8080\nadmin_plain_http: true\n`, want: 'ok' },
    { name: 'plain on [::1]', yaml: `${base}admin_listen: '[::1]:8080'\nadmin_plain_http: true\n`, want: 'ok' },
    { name: 'plain on localhost', yaml: `${base}admin_listen: localhost:8080\nadmin_plain_http: true\n`, want: 'ok' },
    { name: 'plain on the LAN', yaml: `${base}admin_listen: 192.168.10.5:8080\nadmin_plain_http: true\n`, want: /admin_plain_http: plain HTTP only on a loopback address, not 192\.168\.10\.5/ },
    { name: 'plain on every address', yaml: `${base}admin_listen: 0.0.0.0:8080\nadmin_plain_http: true\n`, want: /admin_plain_http: .*not 0\.0\.0\.0/ },
    { name: 'plain and TLS', yaml: `${base}admin_listen: 127.0.0.1:8443\nadmin_plain_http: true\nadmin_tls: { cert: admin.crt, key: admin.key }\n`, want: /admin_plain_http: true contradicts admin_tls/ },
    { name: 'TLS without a key', yaml: `${base}admin_listen: 127.0.0.1:8443\nadmin_tls: { cert: admin.crt }\n`, want: /admin_tls\.key/ },
    { name: 'TLS with a stray field', yaml: `${base}admin_listen: 127.0.0.1:8443\nadmin_tls: { cert: admin.crt, key: admin.key, ca: x }\n`, want: /admin_tls/ },
    { name: 'TLS cert missing', yaml: `${base}admin_listen: 127.0.0.1:8443\nadmin_tls: { cert: nope.crt, key: admin.key }\n`, want: /admin_tls\.cert: cannot read .*nope\.crt: ENOENT/ },
  ];
  for (const { name, yaml, want } of table) {
    writeFileSync(file, yaml);
    if (want === 'ok') {
      await loadHqConfig(file);
      continue;
    }
    await assert.rejects(loadHqConfig(file), (e: unknown) => e instanceof InputError && want.test(e.message), name);
  }
  // Paths are relative to the config file.
  writeFileSync(file, `${base}admin_listen: 127.0.0.1:8443\nadmin_tls: { cert: admin.crt, key: admin.key }\n`);
  assert.deepEqual((await loadHqConfig(file)).admin_tls, { cert: join(dir, 'admin.crt'), key: join(dir, 'admin.key') });
});

test('the certificate and key: a good pair loads with its fingerprint; an open key, a stranger key or no certificate is refused by field, and the key is never quoted', async (t) => {
  const dir = tmp(t);
  const a = makeCert(dir, 'a');
  const b = makeCert(dir, 'b');
  const tls = await loadAdminTls(a);
  const want = execFileSync('openssl', ['x509', '-in', a.cert, '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' }).trim().split('=')[1];
  assert.equal(tls.fingerprint256, want);
  assert.ok(tls.validTo.getTime() > Date.now());

  const keyText = readFileSync(b.key, 'utf8');
  const keyBody = keyText.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
  const refusals: Array<[string, { cert: string; key: string }, RegExp]> = [
    ['a stranger key', { cert: a.cert, key: b.key }, /^admin_tls\.key: .*b\.key is not the private key of .*a\.crt/],
    ['a key readable by others', { cert: a.cert, key: join(dir, 'open.key') }, /^admin_tls\.key: .*chmod 600/],
    ['a key file that is a certificate', { cert: a.cert, key: join(dir, 'cert-as-key') }, /^admin_tls\.key: .*is not the private key/],
    ['not a certificate', { cert: join(dir, 'hq.key'), key: a.key }, /^admin_tls\.cert: .*holds no PEM certificate/],
  ];
  writeFileSync(join(dir, 'open.key'), keyText, { mode: 0o644 });
  chmodSync(join(dir, 'open.key'), 0o644);
  writeFileSync(join(dir, 'cert-as-key'), readFileSync(a.cert), { mode: 0o600 });
  for (const [name, files, re] of refusals) {
    await assert.rejects(loadAdminTls(files), (e: unknown) => {
      assert.ok(e instanceof InputError, name);
      assert.match(e.message, re, name);
      assert.ok(!e.message.includes(keyBody.slice(0, 24)) && !(e.stack ?? '').includes(keyBody.slice(0, 24)), `${name}: the key is not quoted`);
      return true;
    });
  }
});

interface Answer { status: number; body: string }
function get(port: number, path: string, o: { ca?: string; token?: string; plain?: boolean }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = o.token ? { authorization: `Bearer ${o.token}` } : {};
    const done = (res: import('node:http').IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    };
    const req = o.plain
      ? httpRequest({ host: '127.0.0.1', port, path, headers, timeout: 3000, agent: false }, done)
      : httpsRequest({ host: '127.0.0.1', port, path, headers, timeout: 3000, agent: false, ...(o.ca ? { ca: o.ca } : {}) }, done);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

test('HTTPS on a real socket: a client trusting the certificate gets the fleet with a token and 401 without; one that does not trust it, or speaks plain HTTP, gets nothing', async (t) => {
  const dir = tmp(t);
  const files = makeCert(dir, 'admin');
  const tls = await loadAdminTls(files);
  const f = await dashboardFixture({ tls });
  t.after(() => f.close());
  await f.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = f.app.server.address() as { port: number };
  const ca = readFileSync(files.cert, 'utf8');

  const ok = await get(port, '/v1/fleet', { ca, token: TOKEN });
  assert.equal(ok.status, 200);
  assert.deepEqual((JSON.parse(ok.body) as { vehicles: Array<{ name: string }> }).vehicles.map((v) => v.name).sort(), ['bus-7', 'van-2']);
  assert.equal((await get(port, '/v1/fleet', { ca })).status, 401);
  assert.equal((await get(port, '/', { ca })).status, 200, 'the dashboard page itself is public');

  await assert.rejects(get(port, '/v1/fleet', { token: TOKEN }), (e: NodeJS.ErrnoException) => {
    assert.match(String(e.code), /SELF_SIGNED|UNABLE_TO_VERIFY|DEPTH_ZERO/);
    return true;
  });
  // Another certificate as the trust anchor: refused too.
  const other = makeCert(dir, 'other');
  await assert.rejects(get(port, '/v1/fleet', { token: TOKEN, ca: readFileSync(other.cert, 'utf8') }));

  // Plain HTTP to the TLS port: no HTTP answer at all (the TLS layer drops the connection).
  const plain = await get(port, '/v1/fleet', { token: TOKEN, plain: true }).catch((e: Error) => e);
  assert.ok(plain instanceof Error || plain.status !== 200, 'plain HTTP does not reach the API');
  if (!(plain instanceof Error)) assert.ok(!plain.body.includes('bus-7'));
});
