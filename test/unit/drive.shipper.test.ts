// The agent ships its drive to HQ (issue 11, item 5): resumable by HQ's acknowledged byte count (an outage, a lost
// answer, a restart: nothing lost, nothing doubled), within an LTE allowance (held past it, never dropped).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DriveShipper, driveShipDue, DEFAULT_DRIVE_SHIP, type DriveSendOutcome } from '../../agent/ship/drive.shipper.js';
import { driveOutcome } from '../../agent/ship/client.js';
import { SimClock } from '../../shared/clock.js';
import { receivePiece } from '../../concentrator/agent-api/drive.js';
import { openDrivesDb } from '../../concentrator/store/drives/db.js';
import { SqliteDriveStore } from '../../concentrator/store/drives/service.js';
import { InputError } from '../../shared/errors.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FLAP = readFileSync(join(ROOT, 'test/fixtures/drive/lab-flap.jsonl'), 'utf8');
const A = 'drive-2026-12-02T10-00-00-000Z.jsonl';
const B = 'drive-2026-12-02T11-00-00-000Z.jsonl';

test('driveShipDue: off LTE on its interval; on LTE less often, and held past the day\'s allowance', () => {
  const p = DEFAULT_DRIVE_SHIP;
  const cases: Array<[string, { onLte: boolean; sinceMs: number; lteUsedToday: number }, string]> = [
    ['wifi, due', { onLte: false, sinceMs: 60_000, lteUsedToday: 5e6 }, 'ship'],
    ['wifi, not yet', { onLte: false, sinceMs: 59_999, lteUsedToday: 0 }, 'wait'],
    ['lte, wifi interval is not enough', { onLte: true, sinceMs: 60_000, lteUsedToday: 0 }, 'wait'],
    ['lte, due', { onLte: true, sinceMs: 600_000, lteUsedToday: 1_999_999 }, 'ship'],
    ['lte, allowance used', { onLte: true, sinceMs: 600_000, lteUsedToday: 2_000_000 }, 'hold'],
    ['lte, allowance used, not due either', { onLte: true, sinceMs: 0, lteUsedToday: 2_000_000 }, 'hold'],
  ];
  for (const [name, given, want] of cases) assert.equal(driveShipDue(p, given), want, name);
  assert.equal(driveShipDue({ ...p, lteBytesPerDay: 0 }, { onLte: true, sinceMs: 1e9, lteUsedToday: 0 }), 'hold', 'never on LTE');
});

test('driveOutcome: HQ\'s answers', () => {
  const cases: Array<[number, unknown, DriveSendOutcome['kind']]> = [
    [200, { segment: A, have: 10 }, 'ok'], [200, {}, 'retry'], [409, { error: { code: 'DRIVE_GAP' }, have: 0 }, 'gap'], [409, { error: { code: 'SITE_EXISTS' } }, 'retry'],
    [400, { error: { code: 'INVALID', field: '(body)', message: 'bad' } }, 'refused'], [413, null, 'too-large'], [503, null, 'retry'], [403, { error: { code: 'NOT_A_VEHICLE' } }, 'retry'],
  ];
  for (const [status, body, kind] of cases) assert.equal(driveOutcome({ status, body }).kind, kind, `${status} ${JSON.stringify(body)}`);
});

/** HQ's side for real (receivePiece into a SQLite store), behind a switch that loses requests or answers. */
function hq() {
  const store = new SqliteDriveStore(openDrivesDb(':memory:')!);
  let mode: 'up' | 'down' | 'lose-answer' = 'up';
  let posts = 0;
  const send = async (segment: string, offset: number, body: Buffer): Promise<DriveSendOutcome> => {
    posts++;
    if (mode === 'down') return { kind: 'retry', error: 'no route' };
    try {
      const r = await receivePiece(store, 'bus-7', { segment, offset }, body, Date.now());
      if (mode === 'lose-answer') return { kind: 'retry', error: 'no answer within 5000 ms' };
      return r.kind === 'ok' ? { kind: 'ok', have: r.have } : { kind: 'gap', have: r.have };
    } catch (err) {
      if (err instanceof InputError) return { kind: 'refused', message: err.message };
      throw err;
    }
  };
  return { store, send, set: (m: typeof mode) => (mode = m), posts: () => posts };
}

function setup(t: { after: (fn: () => void) => void }) {
  const dir = mkdtempSync(join(tmpdir(), 'rl-dship-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('drive shipping: pieces of whole lines, an outage, a lost answer and a restart: HQ holds every byte once', async (t) => {
  const dir = setup(t);
  const h = hq();
  const lines = FLAP.split('\n');
  // The first file is written in two goes, the second while the first is shipped; the last line is still being written.
  writeFileSync(join(dir, A), lines.slice(0, 40).join('\n') + '\n');
  const clock = new SimClock();
  const make = () => new DriveShipper({ dir, send: h.send, onLte: () => false, clock, maxPiece: 1000 });
  let s = make();
  /** Time passes in the shipper's ticks, each round let finish (its file reads are real I/O). */
  const pass = async (ms: number) => {
    for (let t = 0; t < ms; t += 10_000) {
      await clock.advance(10_000);
      await s.idle();
    }
  };
  s.start();
  await clock.advance(0);
  await s.idle();
  assert.equal((await h.store.text('bus-7', A)), readFileSync(join(dir, A), 'utf8'));
  assert.ok(h.posts() >= 2, 'more than one piece');
  // A line half written: only whole lines go.
  appendFileSync(join(dir, A), lines.slice(40, 80).join('\n') + '\n' + lines[80]!.slice(0, 20));
  h.set('down');
  await pass(60_000);
  assert.ok((await h.store.have('bus-7', A)) < readFileSync(join(dir, A)).length);
  h.set('up');
  await pass(60_000);
  const whole = readFileSync(join(dir, A), 'utf8');
  assert.equal((await h.store.text('bus-7', A)), whole.slice(0, whole.lastIndexOf('\n') + 1));
  // HQ stores a piece but its answer is lost, and the agent restarts: the new agent resends; HQ keeps it once.
  appendFileSync(join(dir, A), lines[80]!.slice(20) + '\n' + lines.slice(81, -1).join('\n') + '\n');
  h.set('lose-answer');
  await pass(60_000);
  await s.stop();
  h.set('up');
  writeFileSync(join(dir, B), FLAP);
  s = make();
  await s.flush();
  assert.equal((await h.store.text('bus-7', A)), readFileSync(join(dir, A), 'utf8'));
  assert.equal((await h.store.text('bus-7', B)), FLAP);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'shipped.json'), 'utf8')).files, { [A]: readFileSync(join(dir, A)).length, [B]: Buffer.byteLength(FLAP) });
  await s.stop();
});

test('drive shipping on LTE: less often, and held past the allowance until Wi-Fi; nothing dropped', async (t) => {
  const dir = setup(t);
  const h = hq();
  writeFileSync(join(dir, A), FLAP);
  const clock = new SimClock({ wall: Date.parse('2026-12-02T12:00:00Z') });
  let lte = true;
  const s = new DriveShipper({ dir, send: h.send, onLte: () => lte, clock, maxPiece: 1500, policy: { lteBytesPerDay: 2500, lteIntervalMs: 600_000 } });
  const pass = async (ms: number) => {
    for (let t = 0; t < ms; t += 10_000) {
      await clock.advance(10_000);
      await s.idle();
    }
  };
  s.start();
  await clock.advance(0);
  await s.idle();
  const first = h.posts();
  assert.ok(first >= 1 && s.lteUsedToday >= 2500, `the allowance is used: ${s.lteUsedToday}`);
  const held = (await h.store.have('bus-7', A));
  assert.ok(held < readFileSync(join(dir, A)).length, 'some is held back');
  // Past the allowance nothing goes over LTE, however long (within the same UTC day).
  await pass(3_600_000);
  assert.equal(h.posts(), first);
  // On Wi-Fi the rest goes.
  lte = false;
  await pass(60_000);
  assert.equal((await h.store.text('bus-7', A)), readFileSync(join(dir, A), 'utf8'));
  await s.stop();
});

test('drive shipping: a piece HQ refuses is set aside (logged), the rest still ships', async (t) => {
  const dir = setup(t);
  const h = hq();
  const bad = `${FLAP.split('\n')[0]}\n{"t":1,"e":"u","n":"wlan0","s":"loud"}\n`;
  writeFileSync(join(dir, A), bad);
  writeFileSync(join(dir, B), FLAP);
  const errors: string[] = [];
  const s = new DriveShipper({ dir, send: h.send, onLte: () => false, clock: new SimClock(), log: { info() {}, warn() {}, error: (_o: object, m: string) => errors.push(m) } as never });
  await s.flush();
  assert.equal((await h.store.text('bus-7', B)), FLAP);
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /refuses .*line 2/);
  await s.stop();
});
