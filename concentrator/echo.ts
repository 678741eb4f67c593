// Starts, adopts and stops the probe echo process (concentrator/probe.echo.ts): one per HQ, found again by its pidfile.
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeProbe, encodeProbe } from '../agent/drivers/probe/udp.probe.js';

const SCRIPT = fileURLToPath(new URL('./probe.echo.js', import.meta.url));

/** The pid in `pidfile` if it is a probe echo that runs (its command line names the script), else null. */
export function runningEcho(pidfile: string): number | null {
  let pid: number;
  try {
    pid = Number(readFileSync(pidfile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 1) return null;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes('probe.echo.js') ? pid : null;
  } catch {
    return null;
  }
}

/** Resolves true once something echoes a probe on 127.0.0.1:`port`, false after `timeoutMs` (retries every 20 ms). */
export function echoAnswers(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    let seq = 0;
    const finish = (ok: boolean) => {
      clearInterval(tick);
      clearTimeout(limit);
      sock.close();
      resolve(ok);
    };
    sock.on('message', (m) => {
      if (decodeProbe(m)) finish(true);
    });
    sock.on('error', () => {});
    const send = () => sock.send(encodeProbe(0x4851, seq++), port, '127.0.0.1');
    const tick = setInterval(send, 20);
    const limit = setTimeout(() => finish(false), timeoutMs);
    send();
  });
}

/**
 * The probe echo on `port`: adopted when the one a previous daemon started still runs, else started (detached, so
 * it outlives this process; under systemd, KillMode=process spares it on a restart). Resolves once it answers.
 */
export async function ensureEcho(port: number, pidfile: string, timeoutMs = 5000): Promise<{ pid: number; adopted: boolean }> {
  const running = runningEcho(pidfile);
  if (running !== null) return { pid: running, adopted: true };
  const child = spawn(process.execPath, [SCRIPT, '--port', String(port), '--pidfile', pidfile], { detached: true, stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.unref();
  const ok = await Promise.race([echoAnswers(port, timeoutMs), exited.then(() => false)]);
  if (!ok) {
    child.kill('SIGKILL');
    throw new Error(`the probe echo did not answer on UDP port ${port} within ${timeoutMs} ms (is the port taken?)`);
  }
  return { pid: child.pid!, adopted: false };
}

/** Stops the probe echo named by `pidfile` (a stop for good); nothing running is fine. */
export function stopEcho(pidfile: string): void {
  const pid = runningEcho(pidfile);
  if (pid !== null) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* gone meanwhile */
    }
  }
  rmSync(pidfile, { force: true });
}
