// Drives: the line format (bad input names the line), the change-only codec, the replay through the real arbiter
// (recorded lab drives reproduce the agent's switches), the summary, and `roamlink replay`'s input checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { checkDriveChunk, DRIVE_ANCHOR_MS, DRIVE_VERSION, DriveError, DriveLineWriter, parseDrive, type DriveLine } from '../../shared/wire/drive.js';
import { DriveDecoder, DriveEncoder } from '../../agent/drive/drive.codec.js';
import { simulateDrive } from '../../agent/drive/replay.js';
import { flapWarnings, pingPongs } from '../../agent/drive/summary.js';
import { overridesOf } from '../../cli/replay.js';
import { InputError } from '../../shared/errors.js';
import type { UplinkReport } from '../../agent/machines/uplink.machine.js';
import type { TunnelSeen } from '../../agent/machines/arbiter.decide.js';

const here = (p: string) => fileURLToPath(new URL(`../../../${p}`, import.meta.url));
const ROAMLINK = here('bin/roamlink');
const fixture = (name: string) => readFileSync(here(`test/fixtures/drive/${name}`), 'utf8');

const HEADER = JSON.stringify({
  drive: 'roamlink-drive', version: 1, vehicle: 'car-1', start_wall: 1_000_000, policy: { hysteresis_db: 5 }, site: null,
  uplinks: [{ name: 'wlan0', slot: 1, kind: 'wifi' }], arbiter: { settleMs: 1500, drainMs: 200, confirmTimeoutMs: 1000, confirmRetryMs: 50 },
});

test('parseDrive: bad files are refused naming the line', () => {
  const cases: Array<{ name: string; text: string; line: number; want: RegExp }> = [
    { name: 'not a drive', text: 'name: depot\nduration: 5s\n', line: 1, want: /not a roamlink drive/ },
    { name: 'JSON but no header', text: '{"t":1,"e":"o","to":"wlan0"}\n', line: 1, want: /no "drive": "roamlink-drive" header/ },
    { name: 'newer version', text: `${HEADER.replace('"version":1', `"version":${DRIVE_VERSION + 1}`)}\n`, line: 1, want: new RegExp(`version ${DRIVE_VERSION + 1} is newer`) },
    { name: 'truncated', text: `${HEADER}\n{"t":5,"e":"l","n":"wlan0","up":true}\n{"t":9,"e":"u","n":"wl`, line: 3, want: /truncated/ },
    { name: 'bad field', text: `${HEADER}\n{"t":5,"e":"l","n":"wlan0","up":"yes"}\n`, line: 2, want: /up/ },
    { name: 'unknown kind', text: `${HEADER}\n{"t":5,"e":"z"}\n`, line: 2, want: /e/ },
    { name: 'back in time', text: `${HEADER}\n{"t":5,"e":"l","n":"wlan0","up":true}\n{"t":4,"e":"l","n":"wlan0","up":false}\n`, line: 3, want: /back in time/ },
    { name: 'empty', text: '', line: 1, want: /empty/ },
    { name: 'd with no line before', text: `${HEADER}\n{"d":5,"e":"l","n":"wlan0","up":true}\n`, line: 2, want: /d: .*no line before/ },
    { name: 't and d', text: `${HEADER}\n{"t":5,"e":"l","n":"wlan0","up":true}\n{"t":6,"d":1,"e":"o","to":"wlan0"}\n`, line: 3, want: /t or d, not both/ },
    { name: 'negative d', text: `${HEADER}\n{"t":5,"e":"l","n":"wlan0","up":true}\n{"d":-1,"e":"o","to":"wlan0"}\n`, line: 3, want: /d: must be whole ms/ },
  ];
  for (const c of cases) {
    assert.throws(() => parseDrive(c.text, 'x.jsonl'), (err: unknown) => {
      assert.ok(err instanceof DriveError, c.name);
      assert.equal(err.line, c.line, c.name);
      assert.match(err.message, new RegExp(`x\\.jsonl line ${c.line}`), c.name);
      assert.match(err.message, c.want, `${c.name}: ${err.message}`);
      return true;
    });
  }
  const ok = parseDrive(`${HEADER}\n{"t":5,"e":"l","n":"wlan0","up":true}\n${HEADER}\n`);
  assert.equal(ok.length, 2, 'a header starts a segment');
  assert.equal(ok[0]!.events.length, 1);
});

const report = (over: Partial<UplinkReport> & { probe?: UplinkReport['probe'] }): UplinkReport => ({
  name: 'wlan0', slot: 1, kind: 'wifi', phase: 'ready', carrier: true, lease: { address: '10.0.0.2', prefix: 0, router: '', leaseSeconds: 0 },
  ready: true, rttMs: 12, lastOkAt: 1000, misses: 0, ap: { ssid: 'depot', bssid: '02:00:00:00:00:01', signal: -60, entry: 0 }, addressed: true,
  probe: { rtt_ms: 12, loss: 0, last_ok_at: 1000 }, signal: -60, role: 'active', radio: 'idle', addressing: 'dhcp', ...over,
});

test('codec: an unchanged status writes only its time; decoding gives back what the arbiter saw', () => {
  const t0 = 500.4;
  const enc = new DriveEncoder(t0);
  const header = parseDrive(`${HEADER}\n`)[0]!.header;
  const dec = new DriveDecoder(header);
  const given = [
    { at: 1000.2, u: report({}) },
    { at: 2000.7, u: report({ rttMs: 12, lastOkAt: 2000.7, probe: { rtt_ms: 12, loss: 0, last_ok_at: 2000.7 } }) },
    { at: 3001.1, u: report({ rttMs: 12, lastOkAt: 3001.1, probe: { rtt_ms: 12, loss: 0, last_ok_at: 3001.1 } }) },
    { at: 3500, u: report({ signal: -71, lastOkAt: 3001.1, probe: { rtt_ms: 12, loss: 0, last_ok_at: 3001.1 } }) },
    { at: 4200, u: report({ misses: 2, probe: { rtt_ms: 12, loss: 0.1, probes: 20, last_ok_at: 3001.1, failing: { since: 3700, last_at: 4200, lost_before: [] } } }) },
    // Version 2: the probe in flight (asked at once: the far-end rule waits for it) and the loss window's size.
    { at: 4300, u: report({ misses: 2, probe: { rtt_ms: 12, loss: 0.1, probes: 20, last_ok_at: 3001.1, failing: { since: 3700, last_at: 4200, lost_before: [] }, in_flight_since: 4250.3 } }) },
    { at: 4800, u: report({ misses: 3, probe: { rtt_ms: 12, loss: 0.15, probes: 20, last_ok_at: 3001.1, failing: { since: 3700, last_at: 4750, lost_before: [] } } }) },
  ];
  const lines = given.map((g) => enc.status(g.at, g.u));
  assert.deepEqual(Object.keys(lines[2]!).sort(), ['e', 'n', 't'], 'a probe answered as the one before: nothing but t');
  assert.deepEqual(lines[3], { t: 3000, e: 'u', n: 'wlan0', s: -71, k: 499 }, 'a signal change: the signal, and the last reply now 499 ms ago');
  assert.deepEqual([lines[5]!.i, lines[6]!.i], [50, null], 'the probe out 50 ms before t; then none');
  for (const [i, l] of lines.entries()) {
    const back = dec.status(parseDrive(`${HEADER}\n${JSON.stringify(l)}\n`)[0]!.events[0] as never);
    const want = given[i]!.u;
    assert.equal(back.signal, want.signal);
    assert.equal(back.probe.loss, want.probe.loss);
    // Times come back on the segment's clock (t0 = 0), to the ms.
    assert.ok(Math.abs(back.probe.last_ok_at! - (want.probe.last_ok_at! - t0)) <= 1, `line ${i}: last_ok_at`);
    assert.equal(back.probe.failing !== undefined, want.probe.failing !== undefined);
    if (want.probe.failing) assert.ok(Math.abs(back.probe.failing!.since - (want.probe.failing.since - t0)) <= 1);
    assert.equal(back.probe.probes, want.probe.probes, `line ${i}: probes`);
    assert.equal(back.probe.in_flight_since === undefined, want.probe.in_flight_since === undefined, `line ${i}: in flight`);
    if (want.probe.in_flight_since !== undefined) assert.ok(Math.abs(back.probe.in_flight_since! - (want.probe.in_flight_since - t0)) <= 1, `line ${i}: in_flight_since`);
    assert.equal(back.lease?.address, '10.0.0.2');
  }
  const seen: TunnelSeen = { rx: 9, tx: 9, readAt: 5000, last_rx_at: 4950, last_tx_at: 4950, rx_moving: true, tx_moving: true };
  const c1 = enc.counters(5000, seen);
  const c2 = enc.counters(5050, { ...seen, readAt: 5050, last_rx_at: 5000, last_tx_at: 5000 });
  assert.deepEqual(c2, { t: 4550, e: 'c' }, 'steady counters: nothing but t');
  const d1 = dec.tunnel(c1);
  const d2 = dec.tunnel(c2);
  assert.deepEqual([d1.readAt, d1.last_rx_at, d1.rx_moving, d1.tx_moving], [4500, 4450, true, true]);
  assert.deepEqual([d2.readAt, d2.last_rx_at, d2.last_tx_at], [4550, 4500, 4500]);
});

test('codec, version 4: what the fast check and the risk rule read comes back; an older file\'s loss over the probes sent is read over the window', () => {
  const enc = new DriveEncoder(0);
  const v4 = parseDrive(`${HEADER.replace('"version":1', `"version":${DRIVE_VERSION}`)}\n`)[0]!.header;
  assert.equal(DRIVE_VERSION, 4);
  const u = report({ misses: 2, probe: { rtt_ms: 14, rtt_low_ms: 8.5, loss: 0.15, probes: 10, last_ok_at: 900, last_ok_sent_at: 891.5, failing: { since: 1500, last_at: 2000, lost_before: [600], prev_at: 1500 } } });
  const line = enc.status(2000, u);
  assert.deepEqual([line.lo, line.ks, line.fp], [8.5, 1108, 500]);
  const back = new DriveDecoder(v4).status(line).probe;
  assert.deepEqual(back, { rtt_ms: 14, rtt_low_ms: 8.5, loss: 0.15, probes: 10, last_ok_at: 900, last_ok_sent_at: 892, failing: { since: 1500, last_at: 2000, lost_before: [600], prev_at: 1500 } });
  const seen: TunnelSeen = { rx: 9, tx: 9, readAt: 5000, last_rx_at: 4950, last_tx_at: 4950, rx_moving: true, tx_moving: true, rx_rate: 0.9871 };
  assert.equal(new DriveDecoder(v4).tunnel(enc.counters(5000, seen)).rx_rate, 0.9871);
  // Version 3 and older: 3 lost of the first 10 written as 0.3; read as 3 of the window's 20. A full window is as it was.
  const v3 = parseDrive(`${HEADER.replace('"version":1', '"version":3')}\n`)[0]!.header;
  const old = (l: number, pn: number) => new DriveDecoder(v3).status({ t: 100, e: 'u', n: 'wlan0', l, pn }).probe.loss;
  assert.deepEqual([old(0.3, 10), old(0.3, 20), old(0.5, 2), old(0, 0)], [0.15, 0.3, 0.05, 0]);
});

test('replay: recorded lab drives reproduce the agent\'s switches (from, to, reason; within 1 s)', async () => {
  for (const name of ['lab-flap.jsonl', 'lab-blackhole.jsonl', 'lab-dozen-forced.jsonl', 'lab-fast-blackhole.jsonl']) {
    const segs = parseDrive(fixture(name), name);
    const s = await simulateDrive(segs, {});
    assert.ok(s.recorded.length >= 2, `${name}: the agent switched`);
    assert.equal(s.baseline.switches.length, s.recorded.length, `${name}: ${JSON.stringify(s.baseline.switches)} vs ${JSON.stringify(s.recorded)}`);
    for (const [i, r] of s.recorded.entries()) {
      const b = s.baseline.switches[i]!;
      assert.deepEqual([b.from, b.to, b.reason], [r.from, r.to, r.reason], `${name} switch ${i}`);
      assert.ok(Math.abs(b.at_ms - r.at_ms) <= 1000, `${name} switch ${i}: ${b.at_ms} vs ${r.at_ms}`);
    }
  }
});

test('replay, version 4: the fast check\'s blackholes (failover-blackhole.yaml at 1000 packets/s, recorded 2026-12-04) come back within 5 ms; without what version 4 adds, not at all', async () => {
  const text = fixture('lab-fast-blackhole.jsonl');
  const s = await simulateDrive(parseDrive(text, 'fast'), {});
  assert.deepEqual(s.recorded.map((r) => [r.to, r.reason]), [['wlan1', 'blackhole'], ['wwan0', 'blackhole']]);
  assert.deepEqual(s.baseline.switches.map((b) => [b.to, b.reason]), s.recorded.map((r) => [r.to, r.reason]));
  for (const [i, b] of s.baseline.switches.entries()) assert.ok(Math.abs(b.at_ms - s.recorded[i]!.at_ms) <= 5, `${b.at_ms} vs ${s.recorded[i]!.at_ms}`);
  // The same lines without the fields version 4 added (as version 3 wrote them): the replay cannot tell the fast check's
  // facts, and its switches are not the agent's.
  const v3 = text.split('\n').map((l) => {
    if (!l) return l;
    const j = JSON.parse(l) as Record<string, unknown>;
    for (const k of ['lo', 'ks', 'fp', 'rr']) delete j[k];
    return JSON.stringify(j);
  }).join('\n');
  const old = await simulateDrive(parseDrive(v3, 'v3'), {});
  assert.notDeepEqual(old.baseline.switches.map((b) => [b.to, Math.round(b.at_ms / 100)]), s.recorded.map((r) => [r.to, Math.round(r.at_ms / 100)]));
});

test('replay: a wider hysteresis on a flapping drive switches less; a narrow one is flagged', async () => {
  const segs = parseDrive(fixture('lab-flap.jsonl'));
  const own = await simulateDrive(segs, {});
  assert.ok(own.summary.ping_pong >= 1, 'the drive flaps under its own profile');
  const wide = await simulateDrive(segs, { hysteresis_db: 10 });
  assert.ok(wide.summary.switches < own.summary.switches, `${wide.summary.switches} < ${own.summary.switches}`);
  assert.equal(wide.summary.ping_pong, 0);
  assert.deepEqual(wide.baseline.summary, own.summary, 'the baseline is the drive\'s own profile');
  assert.deepEqual(wide.warnings, []);
  const narrow = await simulateDrive(segs, { hysteresis_db: 0.5 });
  assert.match(narrow.warnings.join(' '), /hysteresis_db 0.5 dB is not above the signals' own jitter/);
});

test('summary: back-and-forth pairs within 30 s, counted once a pair', () => {
  const sw = (at: number, from: string | null, to: string) => ({ at_ms: at, from, to });
  const cases = [
    { name: 'none', given: [sw(0, null, 'a'), sw(1000, 'a', 'b')], want: 0 },
    { name: 'one pair', given: [sw(1000, 'a', 'b'), sw(5000, 'b', 'a')], want: 1 },
    { name: 'too far apart', given: [sw(1000, 'a', 'b'), sw(32_000, 'b', 'a')], want: 0 },
    { name: 'a-b-a-b', given: [sw(0, 'a', 'b'), sw(1000, 'b', 'a'), sw(2000, 'a', 'b')], want: 1 },
    { name: 'a-b-a-b-a', given: [sw(0, 'a', 'b'), sw(1000, 'b', 'a'), sw(2000, 'a', 'b'), sw(3000, 'b', 'a')], want: 2 },
    { name: 'via a third', given: [sw(0, 'a', 'b'), sw(1000, 'b', 'c'), sw(2000, 'c', 'a')], want: 0 },
  ];
  for (const c of cases) assert.equal(pingPongs(c.given), c.want, c.name);
  assert.deepEqual(flapWarnings({ hysteresis_db: 5, hold_ms: 3000 }, { wlan0: 2 }), []);
  assert.equal(flapWarnings({ hysteresis_db: 2, hold_ms: 3000 }, { wlan0: 2 }).length, 1);
});

test('--set and --profile: an unknown field or a bad value is refused naming it', async () => {
  assert.deepEqual(await overridesOf(['hysteresis_db=8', 'lte=never']), { hysteresis_db: 8, lte: 'never' });
  const bad: Array<[string[], RegExp]> = [
    [['hysteresis=8'], /--set hysteresis: not a profile field/],
    [['hysteresis_db=lots'], /--set hysteresis_db: "lots"/],
    [['switch_below=-20'], /--set switch_below: .*≤ -30 dBm/],
    [['lte=sometimes'], /--set lte: .*fallback, last-resort or never/],
    [["dead_busy_ms=5000"], /--set dead_busy_ms: .*must be ≤ dead_idle_ms/],
    [['hysteresis_db'], /--set: "hysteresis_db" is not FIELD=VALUE/],
  ];
  for (const [sets, want] of bad) await assert.rejects(overridesOf(sets), (err: unknown) => err instanceof InputError && want.test(err.message), sets.join(' '));
});

test('roamlink replay: exit 2 naming the line or the field; --json is the contract', async () => {
  const file = here('test/fixtures/drive/lab-flap.jsonl');
  const r = await execa(process.execPath, [ROAMLINK, 'replay', file, '--json', '--set', 'hysteresis_db=10'], { reject: false });
  assert.equal(r.exitCode, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  for (const k of ['switches', 'ping_pong', 'lte_ms', 'lte_mb', 'below_ms']) {
    assert.equal(typeof j.summary[k], 'number', k);
    assert.equal(typeof j.baseline.summary[k], 'number', `baseline ${k}`);
  }
  assert.ok(j.baseline.switches.every((s: Record<string, unknown>) => typeof s.at_ms === 'number' && typeof s.from === 'string' && typeof s.to === 'string' && typeof s.reason === 'string'));
  const unknown = await execa(process.execPath, [ROAMLINK, 'replay', file, '--set', 'hysterisis_db=10'], { reject: false });
  assert.equal(unknown.exitCode, 2);
  assert.match(unknown.stderr, /hysterisis_db/);
  const notDrive = await execa(process.execPath, [ROAMLINK, 'replay', here('test/lab/scenarios/drive-flap.yaml')], { reject: false });
  assert.equal(notDrive.exitCode, 2);
  assert.match(notDrive.stderr, /line 1: not a roamlink drive/);
});

test('drive size: change-only lines are a fraction of whole events, compressed batches less again; only the window counts', async () => {
  const { driveSize } = await import('../../agent/drive/size.js');
  const text = fixture('lab-flap.jsonl');
  const h = JSON.parse(text.split('\n')[0]!) as { origin_wall: number; until_wall: number };
  const all = driveSize(text, h.origin_wall, h.until_wall);
  assert.ok(all.lines > 50);
  assert.ok(all.change_only_per_day < all.whole_per_day / 3, JSON.stringify(all));
  assert.ok(all.brotli_per_day < all.gzip_per_day && all.gzip_per_day < all.change_only_per_day, JSON.stringify(all));
  const half = driveSize(text, h.origin_wall, h.origin_wall + 10_000);
  assert.ok(half.lines < all.lines && half.lines > 0);
});

test('replay: a segment that starts by adopting the running tunnel (an agent restart) makes no initial switch; one that does not, makes it', async () => {
  const header = (adopted: boolean) => JSON.stringify({
    drive: 'roamlink-drive', version: DRIVE_VERSION, vehicle: 'car-1', start_wall: 1_000_000, policy: {}, site: null,
    uplinks: [{ name: 'wlan0', slot: 1, kind: 'wifi' }, { name: 'wlan1', slot: 2, kind: 'wifi' }],
    arbiter: { settleMs: 1500, drainMs: 200, confirmTimeoutMs: 1000, confirmRetryMs: 50, ...(adopted ? { adopted: { uplink: 'wlan1', address: '10.0.1.2' }, adoptMs: 2500 } : {}) },
  });
  const status = (t: number, n: string, s: number) => JSON.stringify({ t, e: 'u', n, ph: 'ready', c: true, a: '10.0.0.2', r: true, ad: true, s, q: 10, l: 0, pn: 5, k: 0, i: null, f: null, m: 0 });
  const body = [status(100, 'wlan0', -58), status(100, 'wlan1', -60), ...Array.from({ length: 8 }, (_, i) => [status(500 + i * 500, 'wlan0', -58), status(520 + i * 500, 'wlan1', -60)]).flat()].join('\n');
  const fresh = await simulateDrive(parseDrive(`${header(false)}\n${body}\n`), {});
  assert.deepEqual(fresh.baseline.switches.map((s) => [s.from, s.to, s.reason]), [[null, 'wlan0', 'initial']]);
  const adopted = await simulateDrive(parseDrive(`${header(true)}\n${body}\n`), {});
  assert.deepEqual(adopted.baseline.switches, [], 'wlan1 adopted: -60 dBm is good, within the hysteresis of wlan0 at -58');
});

test('times as written (version 3): t on a segment\'s first line and every DRIVE_ANCHOR_MS, d between; read back whole, also from the middle of a file', () => {
  const events: DriveLine[] = [
    { t: 5, e: 'l', n: 'wlan0', up: true }, { t: 255, e: 'c' }, { t: 505, e: 'c' }, { t: 505, e: 'o', to: 'wlan0' },
    { t: 5 + DRIVE_ANCHOR_MS - 1, e: 'c' }, { t: 5 + DRIVE_ANCHOR_MS + 200, e: 'c' }, { t: 5 + DRIVE_ANCHOR_MS + 450, e: 'c' },
  ];
  const w = new DriveLineWriter();
  const header = JSON.parse(HEADER);
  const lines = [w.text(header), ...events.map((e) => w.text(e))];
  assert.deepEqual(lines.slice(1).map((l) => Object.keys(JSON.parse(l))[0]), ['t', 'd', 'd', 'd', 'd', 't', 'd'], 'a t first, then one DRIVE_ANCHOR_MS on');
  assert.equal(lines[2], '{"d":250,"e":"c"}\n');
  const text = lines.join('');
  assert.deepEqual(parseDrive(text)[0]!.events, events, 'read back with their t');
  // A second segment starts over with a t.
  const again = [w.text(header), w.text({ t: 3, e: 'c' }), w.text({ t: 9, e: 'c' })];
  assert.deepEqual(parseDrive(text + again.join(''))[1]!.events.map((e) => e.t), [3, 9]);
  // HQ's check of a piece from the middle of the file: times known from its first t on.
  const mid = lines.slice(3).join('');
  assert.equal(checkDriveChunk(mid, false).lastT, 5 + DRIVE_ANCHOR_MS + 450);
  assert.equal(checkDriveChunk(lines.slice(3, 6).join(''), false).lastT, null, 'no t in it: not known');
  assert.throws(() => checkDriveChunk(`${lines[6]}{"t":100,"e":"c"}\n`, false), /goes back in time/);
});

test('HQ dates a segment shipped in 2-second pieces within 12 s of its last line (a short lab run\'s export finds it)', () => {
  // 40 s of a line every 250 ms, shipped every 2 s: each piece's last t as HQ's check finds it (null: no anchor in it).
  const w = new DriveLineWriter();
  const texts: string[] = [];
  for (let t = 0; t < 40_000; t += 250) texts.push(w.text({ t, e: 'c' }));
  let dated = -Infinity;
  for (let i = 0; i < texts.length; i += 8) {
    const info = checkDriveChunk(texts.slice(i, i + 8).join(''), false);
    if (info.lastT !== null) dated = Math.max(dated, info.lastT);
    const last = (i + Math.min(8, texts.length - i) - 1) * 250;
    assert.ok(last - dated <= 12_000, `after the piece ending at ${last} ms HQ dates the segment to ${dated} ms (anchors every ${DRIVE_ANCHOR_MS} ms)`);
  }
});
