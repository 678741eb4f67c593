// The admin listener decides authorization on the route that matched: a matrix of methods and of encoded, absolute-form,
// dot-segment and double-slash paths, through inject() and through a real socket (raw request lines); and the one
// error table (400, 401, 404, 413, 414, 415, and a 500 that says nothing of its cause).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { installAccessGuard, OPERATOR, PUBLIC } from '../../concentrator/admin/access.js';
import { HTTP_ERRORS, MAX_URL_LENGTH, installErrorHandling } from '../../shared/http/errors.js';
import { TOKEN, dashboardFixture } from './dashboard.fixtures.test.js';

const auth = { authorization: `Bearer ${TOKEN}` };
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
/** Every way we know to spell a protected route (or an unknown one) so that a raw-URL check would miss it. */
const PATHS = [
  '/v1/fleet', '/v1/log', '/v1/sites', '/v1/sites/depot', '/v1/sites/evil', '/v1/fleet/bus-7', '/v1/site-profile', '/metrics',
  '/%761/sites', '/%761/log', '/%6detrics', '/%76%31/fleet', '/v1/%66leet', '/%2fv1/fleet', '/v1%2ffleet',
  '/v1/../v1/fleet', '/./v1/fleet', '/%2e%2e/v1/fleet', '/v1/sites/%2e%2e', '/static/../v1/log',
  '//v1/fleet', '/v1//fleet', '/v1/fleet/', '/V1/FLEET', '/v1/fleet;x', '/v1/fleet?x=1', '/v1/fleet%00',
  '/v1/anything', '/nope', '/.env', '/../daemon.ts',
];
const SITE = { name: 'evil', match: { ssid: ['evil'] } };

test('without a valid token, no method on any spelling of any path gets past 401, and nothing changes', async (t) => {
  const f = await dashboardFixture();
  t.after(f.close);
  const before = JSON.stringify((await f.sites.set()));
  let n = 0;
  for (const method of METHODS) {
    for (const url of PATHS) {
      for (const headers of [{}, { authorization: 'Bearer wrong-token-0123456789' }, { authorization: TOKEN }, { authorization: `Basic ${TOKEN}` }]) {
        const r = await f.app.inject({ method, url, headers, ...(method === 'POST' || method === 'PATCH' ? { payload: SITE } : {}) });
        assert.equal(r.statusCode, 401, `${method} ${url} ${JSON.stringify(headers)}`);
        if (method !== 'HEAD') assert.equal(r.json().error.code, 'UNAUTHORIZED');
        n++;
      }
    }
  }
  assert.equal(JSON.stringify((await f.sites.set())), before, 'a refused request changed the sites');
  assert.ok(n > 800);
});

test('with the token, routing decides: encoded spellings reach their route, unknown paths are 404', async (t) => {
  const f = await dashboardFixture();
  t.after(f.close);
  const cases: Array<[string, string, number]> = [
    ['GET', '/%761/sites', 200],
    ['GET', '/%6detrics', 200],
    ['GET', '/v1/%66leet', 200],
    ['GET', '/v1/fleet?x=1', 200],
    ['HEAD', '/v1/fleet', 200],
    ['GET', '//v1/fleet', 404],
    ['GET', '/v1/fleet/', 404],
    ['GET', '/V1/FLEET', 404],
    ['GET', '/nope', 404],
    ['PUT', '/v1/sites', 404],
    ['DELETE', '/v1/sites/nowhere', 404],
  ];
  for (const [method, url, want] of cases) {
    const r = await f.app.inject({ method: method as 'GET', url, headers: auth });
    assert.equal(r.statusCode, want, `${method} ${url}`);
    if (want === 404 && method !== 'HEAD') assert.match(r.json().error.code, /NOT_FOUND$/);
  }
  // The dashboard's static files are the only public routes.
  for (const url of ['/', '/app.js', '/view.js', '/style.css']) assert.equal((await f.app.inject({ method: 'GET', url })).statusCode, 200, url);
});

/** Sends one raw HTTP/1.1 request (the request target exactly as given) and returns the status. */
function raw(port: number, method: string, target: string, headers: Record<string, string> = {}, body = ''): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      const h = Object.entries({ host: 'x', connection: 'close', ...headers, ...(body ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}) });
      s.end(`${method} ${target} HTTP/1.1\r\n${h.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`);
    });
    let text = '';
    s.setTimeout(5000, () => s.destroy(new Error(`no answer to ${method} ${target}`)));
    s.on('data', (c) => (text += String(c)));
    s.on('error', reject);
    s.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
  });
}

test('through a real socket: absolute-form, dot-segment and encoded request targets without a token are refused', async (t) => {
  const f = await dashboardFixture();
  t.after(f.close);
  await f.app.listen({ host: '127.0.0.1', port: 0 });
  const port = (f.app.server.address() as AddressInfo).port;
  const targets = [
    'http://x/v1/fleet', 'http://x/%761/sites', 'https://x:1/metrics', 'http://x//v1/log', '/v1/../v1/fleet', '/%761/log',
    '/%6detrics', '/v1/./fleet', '/x/../v1/sites', '/v1/fleet', 'x/v1/fleet',
  ];
  for (const target of targets) {
    for (const method of ['GET', 'POST', 'DELETE']) {
      const status = await raw(port, method, target, {}, method === 'POST' ? JSON.stringify(SITE) : '');
      assert.ok(status === 401 || status === 400, `${method} ${target}: ${status}`);
    }
    assert.notEqual(await raw(port, 'GET', target, auth), 401, `with the token ${target}`);
  }
  assert.equal(await raw(port, 'GET', 'http://x/v1/fleet', auth), 200);
  // `*` routes to `/`: the public page for GET, nothing else.
  assert.equal(await raw(port, 'GET', '*'), 200);
  assert.equal(await raw(port, 'POST', '*', {}, JSON.stringify(SITE)), 401);
  assert.equal(await f.sites.get('evil'), null);
});

test('a route that declares no access is refused even with a valid credential (deny by default)', async (t) => {
  const app = Fastify();
  installErrorHandling(app, { surface: 'test' });
  installAccessGuard(app, (req) => (req.headers.authorization === 'Bearer ok' ? 'ann' : null));
  app.get('/open', PUBLIC, async () => 'open');
  app.get('/ops', OPERATOR, async (req) => ({ operator: req.operator }));
  app.get('/forgot', async () => 'leak');
  t.after(() => app.close());
  assert.equal((await app.inject({ url: '/open' })).statusCode, 200);
  assert.equal((await app.inject({ url: '/ops' })).statusCode, 401);
  assert.deepEqual((await app.inject({ url: '/ops', headers: { authorization: 'Bearer ok' } })).json(), { operator: 'ann' });
  assert.equal((await app.inject({ url: '/forgot' })).statusCode, 401);
  const r = await app.inject({ url: '/forgot', headers: { authorization: 'Bearer ok' } });
  assert.equal(r.statusCode, 403);
  assert.equal(r.json().error.code, 'FORBIDDEN');
});

test('the error table: real statuses kept (400, 404, 413, 414, 415), a 500 says nothing of its cause', async (t) => {
  const f = await dashboardFixture();
  t.after(f.close);
  const send = (method: string, url: string, payload?: string, type = 'application/json') =>
    f.app.inject({ method: method as 'POST', url, headers: { ...auth, ...(payload !== undefined ? { 'content-type': type } : {}) }, payload });
  const cases: Array<[string, Awaited<ReturnType<typeof send>>, number, string]> = [
    ['bad JSON', await send('POST', '/v1/sites', '{"name":'), 400, 'BAD_REQUEST'],
    ['a bad field', await send('PATCH', '/v1/sites/depot', JSON.stringify({ colour: 'red' })), 400, 'INVALID'],
    ['unknown route', await send('GET', '/v1/nope'), 404, 'NOT_FOUND'],
    ['too large', await send('POST', '/v1/sites', JSON.stringify({ name: 'x', description: 'x'.repeat(2 << 20) })), 413, 'TOO_LARGE'],
    ['URL too long', await send('GET', `/v1/log?vehicle=${'a'.repeat(MAX_URL_LENGTH)}`), 414, 'URI_TOO_LONG'],
    ['not JSON', await send('POST', '/v1/sites', 'name=x', 'application/x-www-form-urlencoded'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
  ];
  for (const [name, r, status, code] of cases) {
    assert.equal(r.statusCode, status, name);
    assert.equal(r.json().error.code, code, name);
    assert.equal(HTTP_ERRORS[code as keyof typeof HTTP_ERRORS], status, `${name}: the table's status`);
  }
  // A store that fails inside: 500 INTERNAL, the cause stays in the log.
  f.events.query = async () => {
    throw new Error('SQLITE_CORRUPT: /var/lib/roamlink/events.sqlite page 7');
  };
  const r = await send('GET', '/v1/log');
  assert.equal(r.statusCode, 500);
  assert.equal(r.json().error.code, 'INTERNAL');
  assert.doesNotMatch(r.body, /SQLITE|var\/lib/);
});
