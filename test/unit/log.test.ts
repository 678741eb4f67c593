// `roamlink log` as a user (and the lab's hq_log) runs it: JSON lines, filters, --follow, and bad input exiting 2 naming the flag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventsPath, openEventsDb } from '../../concentrator/store/events/db.js';
import { EventStore } from '../../concentrator/store/events/service.js';
import { parseLogParams, parseTimeOrAgo } from '../../concentrator/admin/log-query.js';
import { InputError } from '../../shared/errors.js';
import { T0, ev } from './events.fixtures.test.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const HQ_PRIV = 'KPD+e8mvLdOOI+Wl9HYVjuOXj4U/izotj3qE2CZTbUA=';

interface Ran { code: number; stdout: string; stderr: string }
function roamlink(...args: string[]): Promise<Ran> {
  return new Promise((resolve) => {
    execFile('node', [join(ROOT, 'bin/roamlink'), ...args], { cwd: ROOT }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

function setup(t: { after: (fn: () => void) => void }) {
  const dir = mkdtempSync(join(tmpdir(), 'rl-log-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'hq.key'), `${HQ_PRIV}\n`, { mode: 0o600 });
  const config = join(dir, 'hq.yaml');
  writeFileSync(config, `interface: rl-test0\nprivate_key_file: hq.key\ntunnel_network: 10.99.0.0/24\nstate_dir: state\ncontrol_socket: hq.sock\n`);
  return { dir, config, state: join(dir, 'state') };
}

test('parseLogParams: durations and ISO times; each bad value names its field', async () => {
  const now = T0 + 3_600_000;
  assert.deepEqual(parseLogParams({ vehicle: 'bus-7', since: '30m', until: '2026-11-21T10:50:00Z', order: 'desc' }, now), {
    vehicle: 'bus-7', sinceMs: now - 1_800_000, untilMs: Date.parse('2026-11-21T10:50:00Z'), desc: true,
  });
  assert.equal(parseTimeOrAgo('2026-11-21T10:00:00Z', now, 'x'), T0);
  const bad: Array<[Record<string, string>, string]> = [
    [{ vehicle: 'Bus 7' }, '--vehicle'], [{ site: '-x' }, '--site'], [{ uplink: 'a b' }, '--uplink'], [{ reason: 'Why?' }, '--reason'],
    [{ since: 'yesterday' }, '--since'], [{ until: '5 o\'clock' }, '--until'], [{ since: '1h', until: '2h' }, '--until'], [{ limit: '0' }, '--limit'],
  ];
  for (const [p, field] of bad) {
    assert.throws(() => parseLogParams(p, now, (k) => `--${k}`), (e: unknown) => e instanceof InputError && e.field === field, JSON.stringify(p));
  }
});

test('roamlink log --json: every stored event once, oldest first, at least {id, vehicle, from, to, reason, at}', async (t) => {
  const { config, state } = setup(t);
  // Nothing stored yet: no output, exit 0.
  let r = await roamlink('log', '--json', '--config', config);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  const db = openEventsDb(eventsPath(state));
  const store = new EventStore(db);
  (await store.ingest([ev(1, { site: 'depot' }), ev(3), ev(4, { vehicle: 'van-2', seq: 1 })]));
  (await store.ingest([ev(2, { site: 'depot' }), ev(1)])); // late, and a duplicate
  db.close();
  r = await roamlink('log', '--json', '--config', config);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => [l.vehicle, l.seq, l.from, l.to, l.reason]), [
    ['bus-7', 1, '-', 'wlan1', 'signal'], ['bus-7', 2, 'wlan0', 'wwan0', 'signal'], ['bus-7', 3, 'wlan0', 'wlan1', 'carrier-loss'], ['van-2', 1, 'wlan0', 'wwan0', 'signal'],
  ]);
  assert.equal(lines[0].id, ev(1).id);
  assert.equal(lines[0].at, ev(1).at);
  const only = async (...a: string[]) => (await roamlink('log', '--json', '--config', config, ...a)).stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).seq as number);
  assert.deepEqual(await only('--vehicle', 'van-2'), [1]);
  assert.deepEqual(await only('--site', 'depot'), [1, 2]);
  assert.deepEqual(await only('--reason', 'carrier-loss'), [3]);
  assert.deepEqual(await only('--uplink', 'wwan0'), [2, 1]);
  assert.deepEqual(await only('--since', '2026-11-21T10:00:02Z', '--until', '2026-11-21T10:00:03Z'), [2, 3]);
  r = await roamlink('log', '--config', config, '--vehicle', 'bus-7');
  assert.match(r.stdout, /bus-7\s+wlan0 -> wwan0\s+signal\s+12 ms\s+depot/);
});

test('roamlink log: bad input exits 2 naming the flag', async (t) => {
  const { config } = setup(t);
  for (const [flag, value] of [['--since', 'soon'], ['--vehicle', 'BAD NAME'], ['--until', 'x']] as const) {
    const r = await roamlink('log', '--config', config, flag, value);
    assert.equal(r.code, 2, `${flag} ${value}`);
    assert.match(r.stderr, new RegExp(`${flag}: `));
  }
});

test('roamlink log --follow: prints what is stored later, once, in stored order', async (t) => {
  const { config, state } = setup(t);
  const db = openEventsDb(eventsPath(state));
  const store = new EventStore(db);
  (await store.ingest([ev(1)]));
  const p = spawn('node', [join(ROOT, 'bin/roamlink'), 'log', '--follow', '--json', '--vehicle', 'bus-7', '--config', config], { cwd: ROOT });
  let stdout = '';
  p.stdout.on('data', (c: Buffer) => (stdout += c));
  const lines = () => stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).seq as number);
  t.after(() => {
    p.kill('SIGKILL');
    db.close();
  });
  for (let i = 0; i < 100 && lines().length < 1; i++) await sleep(50);
  (await store.ingest([ev(3), ev(4, { vehicle: 'van-2', seq: 1 })]));
  (await store.ingest([ev(2), ev(3)]));
  for (let i = 0; i < 100 && lines().length < 3; i++) await sleep(50);
  await sleep(700);
  assert.deepEqual(lines(), [1, 3, 2]);
  p.kill('SIGINT');
  const code = await new Promise((r) => p.once('exit', r));
  assert.equal(code, 0);
});
