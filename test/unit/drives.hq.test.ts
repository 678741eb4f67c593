// HQ keeps the vehicles' drives (issue 11, item 5): pieces through the agents' API (resent, overlapping, out of order,
// bad), the store's retention by HQ's clock, and `roamlink drive export` writing back what `roamlink replay` reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync } from 'node:zlib';
import { buildAgentApi } from '../../concentrator/agent-api/app.js';
import { FleetState } from '../../concentrator/agent-api/fleet.js';
import { createVehicleLookup } from '../../concentrator/agent-api/identity.js';
import { openDb } from '../../concentrator/store/db.js';
import { drivesPath, openDrivesDb } from '../../concentrator/store/drives/db.js';
import { SqliteDriveStore } from '../../concentrator/store/drives/service.js';
import { VehicleService } from '../../concentrator/store/vehicles/service.js';
import { exportDrive } from '../../concentrator/drives/export.js';
import { parseDrive } from '../../shared/wire/drive.js';
import { SimClock } from '../../shared/clock.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FLAP = readFileSync(join(ROOT, 'test/fixtures/drive/lab-flap.jsonl'), 'utf8');
const SEG = 'drive-2026-12-02T10-00-00-000Z.jsonl';
const CAR = '10.99.0.2';
const K = (n: number) => Buffer.alloc(32, n).toString('base64');
const HQ_PRIV = 'KPD+e8mvLdOOI+Wl9HYVjuOXj4U/izotj3qE2CZTbUA=';

/** The fixture as the agent's file: one segment, no origin/until (the recorder writes none). */
function agentFile(): string {
  const lines = FLAP.split('\n');
  const h = JSON.parse(lines[0]!) as Record<string, unknown>;
  delete h.origin_wall;
  delete h.until_wall;
  lines[0] = JSON.stringify(h);
  return lines.join('\n');
}

/** Byte offsets of line starts, to cut the file into pieces as the shipper does. */
function cuts(text: string, every: number): Array<[number, number]> {
  const buf = Buffer.from(text);
  const out: Array<[number, number]> = [];
  let start = 0;
  while (start < buf.length) {
    let end = Math.min(buf.length, start + every);
    while (end < buf.length && buf[end - 1] !== 0x0a) end++;
    out.push([start, end]);
    start = end;
  }
  return out;
}

async function setup(t: { after: (fn: () => unknown) => void }) {
  const db = openDb(':memory:');
  const vehicles = new VehicleService(db, { tunnelNetwork: '10.99.0.0/24' });
  (await vehicles.add({ name: 'lab-car', subnet: '10.20.7.0/24', publicKey: K(1) }));
  const clock = new SimClock({ wall: Date.parse('2026-12-02T10:00:00Z') });
  const store = new SqliteDriveStore(openDrivesDb(':memory:')!);
  const app = buildAgentApi({ identify: createVehicleLookup(db), ingest: async () => ({ inserted: [], duplicates: 0 }), fleet: new FleetState({ offlineAfterMs: 15_000 }), drives: store, clock });
  t.after(async () => {
    await app.close();
    store.close();
    db.close();
  });
  const send = (bytes: Buffer, offset: number, segment = SEG, from = CAR) =>
    app.inject({ method: 'POST', url: `/v1/drive?segment=${segment}&offset=${offset}`, remoteAddress: from, headers: { 'content-type': 'application/octet-stream' }, payload: brotliCompressSync(bytes) });
  return { app, store, send };
}

test('drive pieces: in order, resent, overlapping and past the end; HQ holds each byte once', async (t) => {
  const { store, send } = await setup(t);
  const file = Buffer.from(agentFile());
  const pieces = cuts(file.toString(), 3000);
  assert.ok(pieces.length >= 3);
  // A piece past what HQ holds (the start never came): 409 with where to send from.
  let r = await send(file.subarray(pieces[1]![0], pieces[1]![1]), pieces[1]![0]);
  assert.equal(r.statusCode, 409);
  assert.deepEqual([r.json().error.code, r.json().have], ['DRIVE_GAP', 0]);
  r = await send(file.subarray(pieces[0]![0], pieces[0]![1]), 0);
  assert.equal(r.statusCode, 200, r.body);
  assert.deepEqual(r.json(), { segment: SEG, have: pieces[0]![1] });
  // The same piece again (its acknowledgement lost): the same answer, nothing added.
  r = await send(file.subarray(pieces[0]![0], pieces[0]![1]), 0);
  assert.deepEqual(r.json(), { segment: SEG, have: pieces[0]![1] });
  // After a restart the agent resends from its last acknowledged offset, with more lines: only the new part is kept.
  r = await send(file.subarray(0, pieces[1]![1]), 0);
  assert.deepEqual(r.json(), { segment: SEG, have: pieces[1]![1] });
  for (const [a, b] of pieces.slice(2)) assert.equal((await send(file.subarray(a, b), a)).json().have, b);
  assert.equal((await store.text('lab-car', SEG)), file.toString());
  const [seg] = (await store.segments({ vehicle: 'lab-car' }));
  const h = JSON.parse(file.toString().split('\n')[0]!) as { start_wall: number };
  assert.equal(seg!.start_wall, h.start_wall);
  assert.equal(seg!.have, file.length);
  const lastT = (JSON.parse(file.toString().trimEnd().split('\n').at(-1)!) as { t: number }).t;
  assert.equal(seg!.last_wall, h.start_wall + lastT);
});

test('drive pieces: bad ones are refused naming what is wrong, and change nothing', async (t) => {
  const { app, store, send } = await setup(t);
  const file = Buffer.from(agentFile());
  const [first] = cuts(file.toString(), 2000);
  const cases: Array<[string, () => Promise<{ statusCode: number; json: () => { error: { code: string; message: string; field?: string } } }>, number, RegExp]> = [
    ['not brotli', () => app.inject({ method: 'POST', url: `/v1/drive?segment=${SEG}&offset=0`, remoteAddress: CAR, headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.from('plain text') }), 400, /not brotli/],
    ['cut mid-line', () => send(file.subarray(0, first![1] - 5), 0), 400, /truncated/],
    ['no header at 0', () => send(file.subarray(first![1], first![1] + 400).subarray(0, Buffer.from(file.subarray(first![1]).toString().split('\n')[0]! + '\n').length), 0), 400, /header/],
    ['a bad line', () => send(Buffer.from(`${file.toString().split('\n')[0]}\n{"t":5,"e":"u","n":"wlan0","s":"loud"}\n`), 0), 400, /line 2/],
    ['a bad segment name', () => send(file.subarray(0, first![1]), 0, '../../etc/passwd'), 400, /segment/],
    ['JSON, not bytes', () => app.inject({ method: 'POST', url: `/v1/drive?segment=${SEG}&offset=0`, remoteAddress: CAR, payload: { lines: [] } }), 415, /octet-stream/],
    ['not a vehicle', () => send(file.subarray(0, first![1]), 0, SEG, '10.99.0.9'), 403, /not the tunnel address/],
  ];
  for (const [name, call, status, msg] of cases) {
    const r = await call();
    assert.equal(r.statusCode, status, name);
    assert.match(`${r.json().error.field ?? ''} ${r.json().error.message}`, msg, name);
  }
  assert.deepEqual((await store.segments({})), []);
});

test('drives store: sites found in the lines, windows, retention by when HQ received them', async () => {
  const store = new SqliteDriveStore(openDrivesDb(':memory:')!);
  const header = (start: number, site: string | null) => `${JSON.stringify({ ...JSON.parse(agentFile().split('\n')[0]!), start_wall: start, site })}\n`;
  const T = Date.parse('2026-12-01T00:00:00Z');
  const put = async (vehicle: string, segment: string, text: string, offset: number, at: number) => {
    const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l) as { t?: number; drive?: string; site?: string | null; start_wall?: number; e?: string });
    const h = lines[0]!.drive ? lines[0]! : null;
    const sites = lines.flatMap((l) => (l.drive || l.e === 'p') && l.site ? [l.site] : []);
    return (await store.append({ vehicle, segment, offset, text, start_wall: h?.start_wall ?? null, last_t: lines.filter((l) => l.t !== undefined).at(-1)?.t ?? null, sites }, at));
  };
  const a = header(T, 'depot');
  assert.deepEqual(await put('bus-1', 'drive-a.jsonl', a, 0, T), { kind: 'ok', have: Buffer.byteLength(a), added: Buffer.byteLength(a) });
  const more = '{"t":60000,"e":"p","policy":{"hysteresis_db":6},"site":"street-7"}\n';
  await put('bus-1', 'drive-a.jsonl', more, Buffer.byteLength(a), T + 60_000);
  await put('bus-2', 'drive-b.jsonl', header(T + 86_400_000, null), 0, T + 86_400_000);
  assert.deepEqual((await store.segments({ site: 'street-7' })).map((s) => [s.vehicle, s.sites]), [['bus-1', ['depot', 'street-7']]]);
  assert.deepEqual((await store.segments({ sinceWall: T + 61_000 })).map((s) => s.vehicle), ['bus-2']);
  assert.deepEqual((await store.segments({ untilWall: T + 1000 })).map((s) => s.vehicle), ['bus-1']);
  assert.equal((await store.segments({ vehicle: 'bus-1' }))[0]!.last_wall, T + 60_000);
  // Retention counts from when HQ last received a piece of the file, not the vehicle's clock.
  assert.equal((await store.prune(T + 60_000)), 0);
  assert.equal((await store.prune(T + 60_001)), 1);
  assert.deepEqual((await store.segments({})).map((s) => s.vehicle), ['bus-2']);
  assert.equal((await store.text('bus-1', 'drive-a.jsonl')), '');
  store.close();
});

test('exportDrive: the stored segments joined, counted from the window start; replay reads it', async () => {
  const store = new SqliteDriveStore(openDrivesDb(':memory:')!);
  const file = agentFile();
  const h = JSON.parse(file.split('\n')[0]!) as { start_wall: number };
  const info = { start_wall: h.start_wall, last_t: 20_000, sites: [] };
  (await store.append({ vehicle: 'lab-car', segment: SEG, offset: 0, text: file, ...info }, Date.now()));
  assert.equal(await exportDrive(store, 'lab-car', h.start_wall + 10 * 86_400_000, h.start_wall + 11 * 86_400_000), null);
  assert.equal(await exportDrive(store, 'other', 0, Date.now()), null);
  const d = (await exportDrive(store, 'lab-car', h.start_wall - 3_600_000, h.start_wall + 3_600_000))!;
  const segs = parseDrive(d.text);
  assert.equal(segs.length, 1);
  assert.equal(segs[0]!.header.origin_wall, h.start_wall);
  assert.equal(segs[0]!.header.until_wall, h.start_wall + 3_600_000);
  assert.deepEqual(segs[0]!.events, parseDrive(file)[0]!.events);
  const { simulateDrive } = await import('../../agent/drive/replay.js');
  const fromHq = await simulateDrive(segs, {});
  const fromFixture = await simulateDrive(parseDrive(FLAP), {});
  // The fixture's origin is the lab's scenario clock; the export's is the segment's start: the same switches, shifted.
  const shift = (FLAP.match(/"origin_wall":(\d+)/) ? Number(FLAP.match(/"origin_wall":(\d+)/)![1]) : h.start_wall) - h.start_wall;
  assert.ok(fromHq.recorded.length > 0);
  // The export counts from the segment's start and to the window's end: the lab's window is a part of it.
  const until = Number(FLAP.match(/"until_wall":(\d+)/)![1]) - h.start_wall;
  const inLab = fromHq.switches.filter((s) => s.at_ms >= shift && s.at_ms <= until).map((s) => [s.at_ms - shift, s.from, s.to, s.reason]);
  assert.ok(inLab.length >= 4);
  assert.deepEqual(inLab, fromFixture.switches.map((s) => [s.at_ms, s.from, s.to, s.reason]));
  store.close();
});

test('roamlink drive export: writes the drive; bad input exits 2 naming the flag', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rl-drive-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'hq.key'), `${HQ_PRIV}\n`, { mode: 0o600 });
  const config = join(dir, 'hq.yaml');
  writeFileSync(config, 'interface: rl-test0\nprivate_key_file: hq.key\ntunnel_network: 10.99.0.0/24\nstate_dir: state\ncontrol_socket: hq.sock\n');
  const run = (...args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile('node', [join(ROOT, 'bin/roamlink'), ...args], { cwd: ROOT }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });
  let r = await run('drive', 'export', '--vehicle', 'lab-car', '--config', config);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /no drives yet/);
  const store = new SqliteDriveStore(openDrivesDb(drivesPath(join(dir, 'state')))!);
  const file = agentFile();
  const h = JSON.parse(file.split('\n')[0]!) as { start_wall: number };
  (await store.append({ vehicle: 'lab-car', segment: SEG, offset: 0, text: file, start_wall: h.start_wall, last_t: 20_000, sites: [] }, Date.now()));
  store.close();
  r = await run('drive', 'export', '--vehicle', 'Lab Car', '--config', config);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--vehicle/);
  r = await run('drive', 'export', '--vehicle', 'lab-car', '--since', 'last week', '--config', config);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--since/);
  r = await run('drive', 'export', '--vehicle', 'van-9', '--since', new Date(h.start_wall - 1000).toISOString(), '--config', config);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no drive of "van-9"/);
  const out = join(dir, 'car.jsonl');
  r = await run('drive', 'export', '--vehicle', 'lab-car', '--since', new Date(h.start_wall - 1000).toISOString(), '--out', out, '--config', config);
  assert.equal(r.code, 0, r.stderr);
  r = await run('replay', out, '--json');
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { recorded: unknown[]; baseline: { switches: unknown[] } };
  assert.ok(j.recorded.length > 0);
  assert.equal(j.baseline.switches.length, j.recorded.length);
});
