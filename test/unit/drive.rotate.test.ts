// Drive rotation and retention (issue 11, item 5), on a simulated clock: a new segment a day whose header adopts the
// running tunnel and whose first lines hold each uplink's state whole (it replays on its own); old files pruned at the
// agent by age and size; at HQ each day a segment of its own, pruned by its own retention.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { createDriveRecorder, drivesToPrune, type DriveFileInfo } from '../../agent/drive/recorder.js';
import { DriveDecoder } from '../../agent/drive/drive.codec.js';
import { simulateDrive } from '../../agent/drive/replay.js';
import { DriveShipper, type DriveSendOutcome } from '../../agent/ship/drive.shipper.js';
import type { UplinkReport } from '../../agent/machines/uplink.machine.js';
import type { ArbiterEvent } from '../../agent/machines/arbiter.machine.js';
import { receivePiece } from '../../concentrator/agent-api/drive.js';
import { openDrivesDb } from '../../concentrator/store/drives/db.js';
import { SqliteDriveStore } from '../../concentrator/store/drives/service.js';
import { SimClock } from '../../shared/clock.js';
import { parseDrive, type StatusLine } from '../../shared/wire/drive.js';

const H = 3_600_000;
const DAY = 24 * H;

test('drivesToPrune: never the file being written; by age (wall clock), then oldest first past the size cap', () => {
  const f = (name: string, size: number, mtime: number): DriveFileInfo => ({ name: `drive-${name}.jsonl`, size, mtime });
  const files = [f('2026-12-01', 100, 1 * DAY), f('2026-12-02', 100, 2 * DAY), f('2026-12-03', 100, 3 * DAY), f('2026-12-04', 100, 4 * DAY)];
  const keep = 'drive-2026-12-04.jsonl';
  const cases: Array<[string, { maxBytes: number; retentionMs: number; now: number }, string[]]> = [
    ['all young, all fit', { maxBytes: 1000, retentionMs: 7 * DAY, now: 4 * DAY }, []],
    ['older than 1.5 days', { maxBytes: 1000, retentionMs: 1.5 * DAY, now: 4 * DAY }, ['drive-2026-12-01.jsonl', 'drive-2026-12-02.jsonl']],
    ['last written exactly at the limit: kept', { maxBytes: 1000, retentionMs: 2 * DAY, now: 4 * DAY }, ['drive-2026-12-01.jsonl']],
    ['size cap: oldest first until 250 fit', { maxBytes: 250, retentionMs: 7 * DAY, now: 4 * DAY }, ['drive-2026-12-01.jsonl', 'drive-2026-12-02.jsonl']],
    ['retention 0: by size only', { maxBytes: 1000, retentionMs: 0, now: 400 * DAY }, []],
    ['the clock set back (files from the future): kept', { maxBytes: 1000, retentionMs: DAY, now: 0 }, []],
    ['the current file is never deleted, even alone over the cap', { maxBytes: 10, retentionMs: DAY, now: 100 * DAY }, ['drive-2026-12-01.jsonl', 'drive-2026-12-02.jsonl', 'drive-2026-12-03.jsonl']],
  ];
  for (const [name, o, want] of cases) assert.deepEqual(drivesToPrune([...files].reverse(), { ...o, keep }), want, name);
});

const status = (name: string, slot: number, over: Partial<UplinkReport>, now: number): UplinkReport => ({
  name, slot, kind: 'wifi', phase: 'ready', carrier: true, lease: { address: `10.0.${slot}.2`, prefix: 24, router: `10.0.${slot}.1`, leaseSeconds: 3600 },
  ready: true, rttMs: 12, lastOkAt: now - 40, misses: 0, ap: { ssid: slot === 1 ? 'depot' : 'street-7', bssid: `02:00:00:00:00:0${slot}`, signal: -60, entry: slot - 1 },
  addressed: true, probe: { rtt_ms: 12, loss: 0, probes: 20, last_ok_at: now - 40 }, signal: -60, role: 'standby', radio: 'idle', addressing: 'dhcp', ...over,
});

test('rotation: a new segment every day, adopting the running tunnel and starting with every uplink whole; old files pruned; HQ keeps a segment a day and prunes each by its own retention', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rl-drot-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // Wall time starts at the real now, so that the files' real modification times are the simulated ones' (stamped below).
  const start = Date.now();
  const clock = new SimClock({ now: 0, wall: start });
  const root = { id: 'arbiter' } as unknown as AnyActorRef;
  const rec = createDriveRecorder({
    dir, clock, flushMs: 60_000, retentionMs: 1.5 * DAY,
    header: {
      vehicle: 'bus-7', policy: { hysteresis_db: 5 }, site: null,
      uplinks: [{ name: 'wlan0', slot: 1, kind: 'wifi' }, { name: 'wlan1', slot: 2, kind: 'wifi' }],
      arbiter: { initial: 'wlan0', settleMs: 1500, drainMs: 200, confirmTimeoutMs: 1000, confirmRetryMs: 50, adoptMs: 2500 },
    },
  });
  rec.attach(root);
  const send = (event: ArbiterEvent) => rec.inspect({ type: '@xstate.event', actorRef: root, event, sourceRef: undefined, rootId: 'x' } as unknown as InspectionEvent);
  // HQ, for real: the agent's shipper (off LTE, every 10 minutes) into a drives store through receivePiece, HQ's clock the same.
  const store = new SqliteDriveStore(openDrivesDb(':memory:')!);
  const shipper = new DriveShipper({
    dir, clock, onLte: () => false, policy: { intervalMs: 10 * 60_000 }, tickMs: 10 * 60_000,
    send: async (segment, offset, body): Promise<DriveSendOutcome> => {
      const r = await receivePiece(store, 'bus-7', { segment, offset }, body, clock.wallNow());
      return { kind: r.kind, have: r.have };
    },
  });
  shipper.start();
  t.after(() => shipper.stop());

  // Each uplink reports every 10 minutes; wlan0 carries the tunnel, then wlan1 from 20 h on (and the site's profile at 12 h).
  let active = 'wlan0';
  let signal0 = -58;
  const last = new Map<string, UplinkReport>();
  const tick = () => {
    const now = clock.now();
    for (const [name, slot] of [['wlan0', 1], ['wlan1', 2]] as const) {
      const u = status(name, slot, { role: active === name ? 'active' : 'standby', signal: name === 'wlan0' ? signal0 : -62, rttMs: 10 + slot }, now);
      last.set(name, u);
      send({ type: 'uplink.status', status: u } as ArbiterEvent);
    }
    send({ type: 'tunnel.counters', seen: { rx: 0, tx: 0, readAt: now, last_rx_at: now - 5, last_tx_at: now - 5, rx_moving: true, tx_moving: true } } as ArbiterEvent);
  };
  /** Files on disk, their modification time set to the simulated wall clock's when last written (as real time would). */
  const stamped = new Map<string, number>();
  const stamp = async () => {
    await rec.sync();
    const size = (f: string) => readFileSync(join(dir, f)).length;
    for (const f of readdirSync(dir).filter((f) => f.startsWith('drive-'))) {
      const prev = stamped.get(f);
      const now = size(f);
      if (prev === undefined || prev !== now) {
        stamped.set(f, now);
        utimesSync(join(dir, f), clock.wallNow() / 1000, clock.wallNow() / 1000);
      }
    }
  };
  const pass = async (untilMs: number) => {
    while (clock.now() < untilMs) {
      await clock.advance(Math.min(10 * 60_000, untilMs - clock.now()));
      if (clock.now() === 12 * H) send({ type: 'policy.set', policy: { hysteresis_db: 8 }, site: 'depot' } as unknown as ArbiterEvent);
      if (clock.now() === 20 * H) {
        active = 'wlan1';
        signal0 = -75;
        rec.switched({ id: 'x', from: 'wlan0', to: 'wlan1', reason: 'signal', decided_at: clock.wallNow() - 30, decided_mono: clock.now() - 30, steered_at: clock.wallNow(), confirmed_at: clock.wallNow(), ms_to_first_packet: 12, candidates: [], why: null, site: 'depot', policy: {}, operator: null } as never);
      }
      tick();
      await stamp();
      await shipper.idle();
    }
  };

  await pass(DAY - 60_000);
  assert.equal(rec.stats().segments, 1);
  const first = rec.path;
  await pass(DAY + 60_000);
  assert.equal(rec.stats().segments, 2, 'a new segment after a day');
  const second = rec.path;
  assert.notEqual(second, first);
  assert.ok(second > first, 'file names sort in time order');
  const seg2 = parseDrive(readFileSync(second, 'utf8'));
  assert.equal(seg2.length, 1, 'the new file is a segment of its own');
  const h2 = seg2[0]!.header;
  assert.equal(h2.start_wall, start + DAY);
  assert.deepEqual(h2.arbiter.adopted, { uplink: 'wlan1', address: '10.0.2.2' }, 'the tunnel running at the rotation, adopted');
  assert.equal(h2.arbiter.adoptMs, 2500);
  assert.deepEqual([h2.policy, h2.site], [{ hysteresis_db: 8 }, 'depot'], 'the thresholds in force then, not the first segment\'s');
  // Its first lines: each uplink's state whole, at t = 0, decoding to what the arbiter last heard.
  const [u0, u1, c] = seg2[0]!.events;
  assert.deepEqual([u0!.e, u0!.t, u1!.e, u1!.t, c!.e, c!.t], ['u', 0, 'u', 0, 'c', 0]);
  const dec = new DriveDecoder(h2);
  for (const line of [u0, u1] as StatusLine[]) {
    const back = dec.status(line);
    const want = [...last.values()].find((u) => u.name === line.n)!;
    assert.deepEqual([back.signal, back.role, back.lease?.address, back.ap?.ssid, back.probe.loss, back.probe.probes, back.ready], [want.signal, want.role, want.lease?.address, want.ap?.ssid, want.probe.loss, want.probe.probes, want.ready], line.n);
    assert.ok(Object.keys(line).length >= 15, `${line.n}: every field written (${Object.keys(line).join(',')})`);
  }
  // The new day's file replays alone: the tunnel adopted on wlan1, no initial switch.
  const alone = await simulateDrive(seg2, {});
  assert.deepEqual(alone.baseline.switches, []);
  // The first file ended with the switch; the second does not repeat it.
  assert.deepEqual(parseDrive(readFileSync(first, 'utf8'))[0]!.events.filter((e) => e.e === 's').map((e) => e.e === 's' && e.to), ['wlan1']);
  assert.ok(!seg2[0]!.events.some((e) => e.e === 's'));

  // Day 3: the first file (last written at 24 h) is older than 1.5 days at the 72 h rotation and goes; the second stays.
  await pass(3 * DAY + 60_000);
  assert.equal(rec.stats().segments, 4);
  const files = readdirSync(dir).filter((f) => f.startsWith('drive-')).sort();
  assert.equal(files.length, 3, files.join(' '));
  assert.ok(!files.includes(first.slice(dir.length + 1)), 'the oldest day pruned at the agent');
  assert.ok(files.includes(second.slice(dir.length + 1)));

  // HQ received every day as a segment of its own (the first before the agent pruned it), each whole.
  await shipper.flush();
  const segs = await store.segments({ vehicle: 'bus-7' });
  assert.deepEqual(segs.map((s) => s.segment), [first, ...files.map((f) => join(dir, f))].map((p) => p.slice(dir.length + 1)));
  assert.equal(await store.text('bus-7', files[0]!), readFileSync(join(dir, files[0]!), 'utf8'));
  // HQ's retention counts from when each segment's last piece arrived: a cutoff at 36 h removes the first day only.
  assert.equal(await store.prune(start + 36 * H), 1);
  assert.deepEqual((await store.segments({ vehicle: 'bus-7' })).map((s) => s.segment), files);
  await rec.close();
  await store.close();
});
