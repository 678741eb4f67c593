// Enrollment by code end to end over HTTPS on loopback: `vehicle add` issues a code (stored hashed, audited), `roamlink
// enroll` makes the key on the vehicle, registers it with HQ (certificate pinned) and writes agent.yaml 0600; a used,
// expired, malformed code or a wrong pin is refused with nothing changed (exit 2); the listener rate limits; the code
// never reaches a log line or the database.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { loadHqConfig, type HqConfig } from '../../shared/config/hq.js';
import { loadAdminTls } from '../../shared/config/admin-tls.js';
import { createLogger } from '../../shared/log.js';
import { publicKeyOf } from '../../shared/wg.keys.js';
import { issueEnrollmentCode } from '../../concentrator/enroll/issue.js';
import { buildEnrollHttp } from '../../concentrator/enroll/http.js';
import { EnrollmentService } from '../../concentrator/store/enrollments/service.js';
import { newCode, normalizeCode } from '../../concentrator/store/enrollments/code.js';
import { openVehicles, registryPath } from '../../concentrator/store/vehicles/open.js';
import { runEnroll } from '../../agent/enroll/enroll.run.js';
import { RateLimiter, type RateLimits } from '../../concentrator/enroll/rate.js';
import { InputError } from '../../shared/errors.js';
import { makeCert } from './tls.fixture.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const HQ_PRIV = 'KPD+e8mvLdOOI+Wl9HYVjuOXj4U/izotj3qE2CZTbUA=';
const HQ_PUB = 'vBwEETu5b+Q42o8jdYbZf9+mTrdGdXZWs4hvdqy4WX4=';

function roamlink(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, 'bin/roamlink'), ...args], { cwd: ROOT }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

async function hq(t: { after: (fn: () => void | Promise<void>) => void }, limits?: RateLimits) {
  const dir = mkdtempSync(join(tmpdir(), 'rl-enroll-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'hq.key'), `${HQ_PRIV}\n`, { mode: 0o600 });
  makeCert(dir, 'admin');
  const config = join(dir, 'hq.yaml');
  writeFileSync(config, 'interface: rl-test0\nprivate_key_file: hq.key\ntunnel_network: 10.99.0.0/24\nstate_dir: state\ncontrol_socket: hq.sock\n'
    + 'lan_subnets: [192.168.10.0/24]\nvehicle_subnets: [10.20.0.0/16]\nadmin_tls: { cert: admin.crt, key: admin.key }\nenroll_listen: 127.0.0.1:0\n');
  const cfg = await loadHqConfig(config);
  const lines: string[] = [];
  const log = createLogger({ name: 'hq', level: 'debug', destination: { write: (s: string) => void lines.push(s) } });
  const { vehicles, enrollments: codes, close } = await openVehicles(cfg, HQ_PUB);
  const tls = await loadAdminTls(cfg.admin_tls!);
  const enrolled: string[] = [];
  const app = buildEnrollHttp({
    codes, vehicles, log, tls, ...(limits ? { limits } : {}), onEnrolled: (v) => void enrolled.push(v),
    concentrator: { public_key: HQ_PUB, tunnel_address: cfg.tunnel_address, listen_port: 51820, probe_port: 51821, api_port: 8080, routes: cfg.lan_subnets },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(async () => {
    await app.close();
    await close();
  });
  const port = (app.server.address() as AddressInfo).port;
  return { dir, config, cfg, lines, vehicles, codes, app, port, pin: tls.fingerprint256, enrolled };
}

test('codes: 20 characters of Crockford base32, read back forgivingly; anything else is not a code', () => {
  const c = newCode();
  assert.match(c, /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){4}$/);
  assert.equal(normalizeCode(c.toLowerCase().replace(/-/g, ' ')), c.replace(/-/g, ''));
  assert.equal(normalizeCode('OOOO-IIII-LLLL-0000-1111'), '00001111111100001111');
  for (const bad of ['', 'ABCD', `${c}-X`, 'UUUU-UUUU-UUUU-UUUU-UUUU']) assert.equal(normalizeCode(bad), null, bad);
  assert.notEqual(newCode(), newCode());
});

test('enroll by code over pinned HTTPS: the key made on the vehicle, registered at HQ, agent.yaml 0600; the code once', async (t) => {
  const h = await hq(t);
  const issued = await issueEnrollmentCode(h.cfg, { name: 'bus-9', subnetPrefix: 24, site: null, valid: '15m', who: 'alice' });
  assert.equal(issued.pin, h.pin);
  assert.equal(issued.hq, '127.0.0.1:0', 'enroll_listen, for the command it prints');
  const vehicleDir = mkdtempSync(join(tmpdir(), 'rl-veh-'));
  t.after(() => rmSync(vehicleDir, { recursive: true, force: true }));
  const config = join(vehicleDir, 'agent.yaml');
  const key = join(vehicleDir, 'agent.key');

  // A wrong pin: refused before the code is sent; nothing written, nothing registered.
  const other = makeCert(vehicleDir, 'other');
  const otherPin = (await loadAdminTls(other)).fingerprint256;
  await assert.rejects(runEnroll({ code: issued.code, hq: `127.0.0.1:${h.port}`, pin: otherPin, config, key }), (e: unknown) => e instanceof InputError && e.field === '--pin' && /not the pinned one: nothing was sent/.test(e.message));
  assert.equal(existsSync(config) || existsSync(key), false);
  assert.equal(await h.vehicles.get('bus-9'), null);

  const r = await runEnroll({ code: issued.code.toLowerCase(), hq: `127.0.0.1:${h.port}`, pin: h.pin, config, key });
  assert.equal(r.keyMade, true);
  assert.equal(statSync(key).mode & 0o777, 0o600);
  assert.equal(statSync(config).mode & 0o777, 0o600);
  const v = (await h.vehicles.get('bus-9'))!;
  assert.equal(v.public_key, publicKeyOf(readFileSync(key, 'utf8')), 'HQ holds the public key of the key made on the vehicle');
  assert.equal(existsSync(join(h.cfg.state_dir, 'keys', 'bus-9.key')), false, 'HQ made no private key');
  const a = parseYaml(readFileSync(config, 'utf8')) as Record<string, any>;
  assert.equal(a.vehicle, 'bus-9');
  assert.equal(a.wireguard.address, v.tunnel_address);
  assert.equal(a.wireguard.private_key_file, key);
  assert.equal(a.lan.subnet, v.subnet);
  assert.equal(a.lan.interface, 'eth0', "the example's hardware kept");
  assert.deepEqual(a.concentrator, { ...a.concentrator, endpoint: '127.0.0.1:51820', public_key: HQ_PUB, tunnel_address: '10.99.0.1', routes: ['192.168.10.0/24'] });
  assert.deepEqual(h.enrolled, ['bus-9']);

  // The same code again (from another vehicle, with its own key): refused, the registry and the files unchanged.
  const before = readFileSync(config, 'utf8');
  const key2 = join(vehicleDir, 'agent2.key');
  await assert.rejects(runEnroll({ code: issued.code, hq: `127.0.0.1:${h.port}`, pin: h.pin, config, key: key2 }), (e: unknown) => e instanceof InputError && /403 ENROLL_REFUSED\): the enrollment code was already used/.test(e.message));
  assert.equal(readFileSync(config, 'utf8'), before);
  assert.equal(existsSync(key2), false);
  assert.equal((await h.vehicles.list()).length, 1);

  // The CLI: exit 2, HQ's reason; the code nowhere in the output.
  const cli = await roamlink('enroll', issued.code, '--hq', `127.0.0.1:${h.port}`, '--pin', h.pin, '--config', config, '--key', key2);
  assert.equal(cli.code, 2, cli.stderr);
  assert.match(cli.stderr, /already used/);
  assert.ok(!cli.stderr.includes(issued.code) && !cli.stdout.includes(issued.code));

  // Audited; the code itself never stored nor logged.
  const audit = (await h.codes.recentAudit()).map((e) => [e.action, e.vehicle, e.who]);
  assert.deepEqual(audit.reverse(), [['code', 'bus-9', 'alice'], ['enrolled', 'bus-9', '127.0.0.1'], ['refused', 'bus-9', '127.0.0.1'], ['refused', 'bus-9', '127.0.0.1']]);
  const raw = normalizeCode(issued.code)!;
  assert.ok(!h.lines.join('\n').includes(raw) && !h.lines.join('\n').includes(issued.code), 'no code in the log');
  const file = registryPath(h.cfg);
  const dbBytes = readFileSync(file).toString('latin1') + (existsSync(`${file}-wal`) ? readFileSync(`${file}-wal`).toString('latin1') : '');
  assert.ok(!dbBytes.includes(raw) && !dbBytes.includes(issued.code), 'only the hash is stored');
});

test('refusals: expired, unknown, malformed code, a bad key: 4xx, nothing changed; a taken name is a conflict and the code stays good', async (t) => {
  const h = await hq(t, { burst: 100, perMs: 1000, globalBurst: 100, globalPerMs: 1000, maxAddresses: 10 });
  const post = (body: unknown) => h.app.inject({ method: 'POST', url: '/v1/enroll', payload: body as object });
  const pub = publicKeyOf(Buffer.alloc(32, 9).toString('base64'));
  // Expired: a code issued "20 minutes ago" with a 15-minute life.
  const past = new EnrollmentService(h.codes.store, () => new Date(Date.now() - 20 * 60_000));
  const old = await past.issue({ vehicle: 'bus-old', subnet: null, subnet_prefix: 24, site: null, who: 'bob' });
  let r = await post({ code: old.code, public_key: pub });
  assert.equal(r.statusCode, 403);
  assert.match(r.json().error.message, /the enrollment code expired at/);
  r = await post({ code: 'ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ', public_key: pub });
  assert.deepEqual([r.statusCode, r.json().error.code], [403, 'ENROLL_REFUSED']);
  assert.match(r.json().error.message, /no such enrollment code/);
  r = await post({ code: 'hello', public_key: pub });
  assert.match(r.json().error.message, /not an enrollment code/);
  r = await post({ code: old.code, public_key: 'nope' });
  assert.equal(r.statusCode, 400);
  assert.match(r.json().error.message, /public_key: must be a WireGuard public key/);
  assert.ok(!r.body.includes(old.code));
  assert.deepEqual(await h.vehicles.list(), []);

  // The name taken since the code was issued: 409, and the code is not spent.
  const good = await issueEnrollmentCode(h.cfg, { name: 'bus-3', subnetPrefix: 24, site: null, valid: '10m', who: 'alice' });
  await h.vehicles.add({ name: 'bus-3', publicKey: publicKeyOf(Buffer.alloc(32, 3).toString('base64')) });
  r = await post({ code: good.code, public_key: pub });
  assert.deepEqual([r.statusCode, r.json().error.code, r.json().error.field], [409, 'ENROLL_CONFLICT', 'vehicle']);
  await h.vehicles.revoke('bus-3');
  r = await post({ code: good.code, public_key: pub });
  assert.equal(r.statusCode, 200, r.body);
  assert.equal(r.json().vehicle, 'bus-3');

  // Only POST /v1/enroll: anything else is refused (deny by default).
  r = await h.app.inject({ method: 'GET', url: '/v1/vehicles' });
  assert.equal(r.statusCode, 401);
  assert.equal(existsSync(join(h.dir, 'nothing')), false);
});

test('rate limits: a burst per address, then one every perMs; all addresses together capped; 429 with retry-after', async (t) => {
  const l = new RateLimiter({ burst: 3, perMs: 1000, globalBurst: 5, globalPerMs: 2000, maxAddresses: 2 }, 0);
  assert.deepEqual([0, 0, 0, 0].map(() => l.take('a', 0)), [0, 0, 0, 1000], 'a burst of 3, then wait 1 s');
  assert.equal(l.take('a', 1000), 0, 'one token back after perMs');
  assert.deepEqual([l.take('b', 1000), l.take('b', 1000), l.take('c', 1000)], [0, 1000, 1000], 'the global bucket (5, one back every 2 s) is spent, whoever asks');

  const h = await hq(t);
  const codes: number[] = [];
  let last;
  for (let i = 0; i < 7; i++) {
    last = await h.app.inject({ method: 'POST', url: '/v1/enroll', payload: { code: 'ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ', public_key: HQ_PUB }, remoteAddress: '198.51.100.9' });
    codes.push(last.statusCode);
  }
  assert.deepEqual(codes, [403, 403, 403, 403, 403, 429, 429]);
  assert.ok(Number(last!.headers['retry-after']) >= 1);
  const other = await h.app.inject({ method: 'POST', url: '/v1/enroll', payload: { code: 'x', public_key: HQ_PUB }, remoteAddress: '198.51.100.10' });
  assert.equal(other.statusCode, 403, 'another address has its own bucket');
});

test('vehicle add prints a code (no key made at HQ); --make-key makes one only when asked; --valid is checked', async (t) => {
  const h = await hq(t);
  const add = await roamlink('vehicle', 'add', 'bus-4', '--json', '--config', h.config);
  assert.equal(add.code, 0, add.stderr);
  const j = JSON.parse(add.stdout) as { name: string; code: string; expires_at: string; pin: string };
  assert.equal(j.name, 'bus-4');
  assert.ok(normalizeCode(j.code));
  assert.equal(j.pin, h.pin);
  assert.ok(Math.abs(Date.parse(j.expires_at) - Date.now() - 15 * 60_000) < 60_000);
  assert.equal(existsSync(join(h.cfg.state_dir, 'keys', 'bus-4.key')), false);
  const bad = await roamlink('vehicle', 'add', 'bus-5', '--valid', '3d', '--config', h.config);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--valid: 3d: a code is valid 1m to 24h/);
  const both = await roamlink('vehicle', 'add', 'bus-5', '--make-key', '--pubkey', HQ_PUB, '--config', h.config);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--make-key: give --pubkey or --make-key, not both/);
});
