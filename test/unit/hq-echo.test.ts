// The probe echo process: started once, adopted by the next daemon (same pid, still answering), stopped for good.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { echoAnswers, ensureEcho, runningEcho, stopEcho } from '../../concentrator/echo.js';

/** A UDP port free on loopback now. */
async function freePort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('ensureEcho starts the echo once; the next call adopts it; stopEcho ends it and its pidfile', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rl-echo-'));
  const pidfile = join(dir, 'hq-probe-echo.pid');
  const port = await freePort();
  try {
    assert.equal(runningEcho(pidfile), null);
    const first = await ensureEcho(port, pidfile);
    assert.equal(first.adopted, false);
    assert.equal(runningEcho(pidfile), first.pid);
    assert.equal(await echoAnswers(port, 2000), true);
    const second = await ensureEcho(port, pidfile);
    assert.deepEqual(second, { pid: first.pid, adopted: true });
    stopEcho(pidfile);
    for (let i = 0; i < 100 && existsSync(`/proc/${first.pid}`); i++) await sleep(20);
    assert.equal(existsSync(`/proc/${first.pid}`), false, 'the echo process is gone');
    assert.equal(existsSync(pidfile), false);
    assert.equal(await echoAnswers(port, 200), false);
  } finally {
    stopEcho(pidfile);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('runningEcho: a pidfile naming another process, or garbage, is no echo', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rl-echo-'));
  const pidfile = join(dir, 'p.pid');
  try {
    for (const text of [`${process.pid}\n`, 'garbage', '1', '']) {
      writeFileSync(pidfile, text);
      assert.equal(runningEcho(pidfile), null, JSON.stringify(text));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ensureEcho: an echo started with other settings (vrrp_address) is replaced, one with the same adopted', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rl-echo-'));
  const pidfile = join(dir, 'hq-probe-echo.pid');
  const port = await freePort();
  try {
    const plain = await ensureEcho(port, pidfile);
    const gated = await ensureEcho(port, pidfile, { holding: '192.0.2.1' });
    assert.equal(gated.adopted, false);
    assert.notEqual(gated.pid, plain.pid);
    assert.equal(existsSync(`/proc/${plain.pid}`), false, 'the old echo is gone');
    // Loopback is answered by a gated echo too (the daemon's own check): this machine does not hold 192.0.2.1.
    assert.equal(await echoAnswers(port, 2000), true);
    assert.deepEqual(await ensureEcho(port, pidfile, { holding: '192.0.2.1' }), { pid: gated.pid, adopted: true });
  } finally {
    stopEcho(pidfile);
    rmSync(dir, { recursive: true, force: true });
  }
});
