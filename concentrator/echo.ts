// Starts, adopts and stops the probe echo process (concentrator/probe.echo.ts): one per HQ, found again by its pidfile.
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeProbe, encodeProbe } from '../agent/drivers/probe/udp.probe.js';

const SCRIPT = fileURLToPath(new URL('./probe.echo.js', import.meta.url));

/** The pid in `pidfile` if it is a probe echo that runs (its command line names the script), else null. */
export function runningEcho(pidfile: string): number | null {
  return runningEchoArgv(pidfile)?.pid ?? null;
}

function runningEchoArgv(pidfile: string): { pid: number; argv: string[] } | null {
  try {
    const pid = Number(readFileSync(pidfile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 1) return null;
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.some((a) => a.endsWith('probe.echo.js')) ? { pid, argv } : null;
  } catch {
    return null;
  }
}

/** The echo's arguments after its script: what a running one must have been started with to be adopted. */
function echoArgs(port: number, pidfile: string, holding: string | undefined): string[] {
  return ['--port', String(port), '--pidfile', pidfile, ...(holding ? ['--holding', holding] : [])];
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

export interface EchoOptions {
  /** Answer the agents only while this machine holds this address (hq.yaml's vrrp_address). */
  holding?: string;
  /** How long a started echo has to answer on loopback. */
  timeoutMs?: number;
}

/**
 * The probe echo on `port`: adopted when the one a previous daemon started still runs with the same settings, else
 * started (detached, so it outlives this process; under systemd, KillMode=process spares it on a restart); one with
 * other settings (vrrp_address changed) is replaced. Resolves once it answers.
 */
export async function ensureEcho(port: number, pidfile: string, o: EchoOptions = {}): Promise<{ pid: number; adopted: boolean }> {
  const timeoutMs = o.timeoutMs ?? 5000;
  const args = echoArgs(port, pidfile, o.holding);
  const running = runningEchoArgv(pidfile);
  if (running !== null) {
    const theirs = running.argv.slice(running.argv.findIndex((a) => a.endsWith('probe.echo.js')) + 1).filter(Boolean);
    if (theirs.join('\0') === args.join('\0')) return { pid: running.pid, adopted: true };
    await stopEchoAndWait(pidfile, running.pid);
  }
  const child = spawn(process.execPath, [SCRIPT, ...args], { detached: true, stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.unref();
  const ok = await Promise.race([echoAnswers(port, timeoutMs), exited.then(() => false)]);
  if (!ok) {
    child.kill('SIGKILL');
    throw new Error(`the probe echo did not answer on UDP port ${port} within ${timeoutMs} ms (is the port taken?)`);
  }
  return { pid: child.pid!, adopted: false };
}

/** Stops the echo `pid` and waits (bounded, 2 s) until it is gone, so that its port is free for the next. */
async function stopEchoAndWait(pidfile: string, pid: number): Promise<void> {
  stopEcho(pidfile);
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
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
