// shared/sdnotify.ts: the watchdog interval table, and READY/WATCHDOG/STOPPING as datagrams on a real unix socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { notifySocketPath, startSdNotify, watchdogIntervalMs, type SdTimers } from '../../shared/sdnotify.js';

test('watchdogIntervalMs: half of WATCHDOG_USEC, only for the named PID', () => {
  const table: Array<{ name: string; env: Record<string, string>; want: number | null }> = [
    { name: 'no watchdog', env: {}, want: null },
    { name: '20 s', env: { WATCHDOG_USEC: '20000000' }, want: 10_000 },
    { name: 'for us', env: { WATCHDOG_USEC: '20000000', WATCHDOG_PID: '42' }, want: 10_000 },
    { name: 'for another process', env: { WATCHDOG_USEC: '20000000', WATCHDOG_PID: '43' }, want: null },
    { name: 'zero', env: { WATCHDOG_USEC: '0' }, want: null },
    { name: 'garbage', env: { WATCHDOG_USEC: '20s' }, want: null },
    { name: 'tiny', env: { WATCHDOG_USEC: '1' }, want: 1 },
  ];
  for (const c of table) assert.equal(watchdogIntervalMs(c.env, 42), c.want, c.name);
});

test('notifySocketPath: a path, none, or an error for what unix-dgram cannot reach', () => {
  assert.equal(notifySocketPath({}), null);
  assert.equal(notifySocketPath({ NOTIFY_SOCKET: '/run/systemd/notify' }), '/run/systemd/notify');
  assert.match(String(notifySocketPath({ NOTIFY_SOCKET: '@/org/freedesktop/systemd1/notify' })), /abstract/);
  assert.match(String(notifySocketPath({ NOTIFY_SOCKET: 'relative' })), /absolute/);
});

test('outside systemd: inactive, sends nothing', () => {
  const sent: string[] = [];
  const sd = startSdNotify({ env: {}, send: (m) => sent.push(m) });
  sd.status('x');
  sd.stopping();
  assert.equal(sd.active, false);
  assert.deepEqual(sent, []);
});

test('READY with STATUS, pings only while healthy, STOPPING stops the pings (fake timers)', () => {
  const sent: string[] = [];
  let tick: (() => void) | null = null;
  let cleared = false;
  const timers: SdTimers = {
    setInterval: (fn, ms) => {
      assert.equal(ms, 5000);
      tick = fn;
      return 1;
    },
    clearInterval: () => (cleared = true),
  };
  let healthy = true;
  const sd = startSdNotify({
    env: { NOTIFY_SOCKET: '/x', WATCHDOG_USEC: '10000000' }, pid: 7, status: 'up:\n2 uplinks',
    send: (m) => sent.push(m), timers, healthy: () => healthy,
  });
  assert.equal(sd.watchdogMs, 5000);
  tick!();
  healthy = false;
  tick!();
  healthy = true;
  tick!();
  sd.stopping();
  sd.stopping();
  assert.ok(cleared);
  assert.deepEqual(sent, ['READY=1\nSTATUS=up: 2 uplinks', 'WATCHDOG=1', 'WATCHDOG=1', 'STOPPING=1']);
});

test('a failing send is reported, not thrown', () => {
  const errors: string[] = [];
  startSdNotify({ env: { NOTIFY_SOCKET: '/x' }, send: () => { throw new Error('ECONNREFUSED'); }, onError: (e) => errors.push(e.message) });
  assert.deepEqual(errors, ['ECONNREFUSED']);
});

test('datagrams reach a real NOTIFY_SOCKET through unix-dgram', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rlt-sdn-'));
  const path = join(dir, 'notify');
  const unix = createRequire(import.meta.url)('unix-dgram') as typeof import('unix-dgram');
  const server = unix.createSocket('unix_dgram');
  const got: string[] = [];
  server.on('message', (m: Buffer) => got.push(m.toString('utf8')));
  server.bind(path);
  t.after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const errors: Error[] = [];
  const sd = startSdNotify({ env: { NOTIFY_SOCKET: path, WATCHDOG_USEC: '40000' }, pid: process.pid, onError: (e) => errors.push(e) });
  assert.equal(sd.watchdogMs, 20);
  const deadline = Date.now() + 3000;
  while (got.filter((m) => m === 'WATCHDOG=1').length < 2 && Date.now() < deadline) await sleep(10);
  sd.stopping();
  const stopped = Date.now();
  while (!got.includes('STOPPING=1') && Date.now() < stopped + 1000) await sleep(10);
  const pingsAtStop = got.filter((m) => m === 'WATCHDOG=1').length;
  await sleep(80);
  assert.deepEqual(errors, []);
  assert.equal(got[0], 'READY=1');
  assert.ok(pingsAtStop >= 2, `pings: ${got.join(' | ')}`);
  assert.ok(got.includes('STOPPING=1'));
  assert.equal(got.filter((m) => m === 'WATCHDOG=1').length, pingsAtStop, 'no ping after STOPPING=1');
});
