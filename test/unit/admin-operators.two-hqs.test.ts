// Two concentrators on one PostgreSQL (issue 14): an operator added through hq-a signs in on hq-b's admin listener
// once hq-b has read the store again, and one removed through hq-b stops on hq-a; each running fleet ops, as the daemons.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify from 'fastify';
import { newToken, tokenHash } from '../../concentrator/admin/operators.js';
import { installAccessGuard } from '../../concentrator/admin/access.js';
import { startFleetOps } from '../../concentrator/admin/fleet-ops.js';
import { openStores, type Stores } from '../../concentrator/store/stores.js';
import { loadHqConfig } from '../../shared/config/hq.js';
import { installErrorHandling } from '../../shared/http/errors.js';
import { createLogger } from '../../shared/log.js';
import { startTestPostgres, type TestPostgres } from './postgres.fixture.js';

const WG_KEY = 'KPD+e8mvLdOOI+Wl9HYVjuOXj4U/izotj3qE2CZTbUA=';
let pg: TestPostgres | null = null;
let dir = '';
before(() => {
  pg = startTestPostgres();
  dir = mkdtempSync(join(tmpdir(), 'rl-ops2-'));
});
after(() => {
  pg?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function whoami(port: number, token: string): Promise<string | number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/v1/whoami', agent: false, timeout: 5000, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c));
      res.on('end', () => resolve(res.statusCode === 200 ? (JSON.parse(text) as { operator: string }).operator : (res.statusCode ?? 0)));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Polls `f` until it gives `want`, 3 s at most; returns what it gave last. */
async function until<T>(f: () => Promise<T>, want: T): Promise<T> {
  let got = await f();
  for (let i = 0; i < 60 && got !== want; i++) got = (await sleep(50), await f());
  return got;
}

test('two HQs on one store: an operator added through hq-a signs in on hq-b, one removed through hq-b stops on hq-a; no token logged', async (t) => {
  const database = await pg!.createDatabase('ops2');
  const lines: string[] = [];
  const hq = async (name: string): Promise<{ stores: Stores; port: number }> => {
    const own = join(dir, name);
    mkdirSync(join(own, 'state'), { recursive: true });
    writeFileSync(join(own, 'hq.key'), `${WG_KEY}\n`, { mode: 0o600 });
    const port = await freePort();
    writeFileSync(join(own, 'hq.yaml'), ['interface: rl-hq0', 'private_key_file: hq.key', 'tunnel_network: 10.99.0.0/24', 'state_dir: state', 'control_socket: hq.sock',
      `database: "${database}"`, `admin_listen: 127.0.0.1:${port}`, 'admin_plain_http: true', ''].join('\n'));
    const cfg = await loadHqConfig(join(own, 'hq.yaml'));
    const log = createLogger({ name, level: 'trace', destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) });
    const stores = await openStores(cfg);
    const adminApp = Fastify();
    installErrorHandling(adminApp, { surface: 'test socket' });
    installAccessGuard(adminApp, () => '');
    const ops = await startFleetOps({ cfg: { ...cfg, tunnel_address: '127.0.0.1', agent_api_port: 0 }, stores, log, adminApp, refreshMs: 100 });
    t.after(async () => {
      await ops.close();
      await stores.close();
    });
    return { stores, port };
  };
  const a = await hq('hq-a');
  const b = await hq('hq-b');
  const ann = newToken();
  assert.equal(await whoami(b.port, ann), 401);
  // `roamlink hq operator add ann` on hq-a writes the store (and tells hq-a at once); hq-b reads it again by itself.
  await a.stores.operators.add({ name: 'ann', sha256: tokenHash(ann) });
  assert.equal(await until(() => whoami(b.port, ann), 'ann'), 'ann', 'hq-b accepts the token added through hq-a');
  assert.equal(await until(() => whoami(a.port, ann), 'ann'), 'ann');
  await b.stores.operators.remove('ann');
  assert.equal(await until(() => whoami(a.port, ann), 401), 401, 'removed through hq-b: hq-a refuses the token');
  assert.ok(lines.some((l) => l.includes('admin operators changed in the store')));
  const all = lines.join('\n');
  assert.ok(!all.includes(ann) && !all.includes(tokenHash(ann)), 'no token, nor its hash, in a log line');
});
