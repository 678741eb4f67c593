// Starts the meter program in a network namespace for the lab, waits until it listens, and collects its result.
import { execa, type ResultPromise } from 'execa';
import { fileURLToPath } from 'node:url';
import { withNetns } from '../../shared/exec.js';
import { meterResultSchema, type MeterResult } from './result.js';

export const METER_MAIN = fileURLToPath(new URL('./meter.main.js', import.meta.url));

export interface MeterSpec {
  /** Network namespace to run in; none: this one. */
  netns?: string;
  bind: string;
  peer: string;
  pps: number;
  durationMs: number;
  send?: boolean;
  /** Epoch ms; 'stdin': told later, by start() (the meter listens meanwhile). */
  startAtMs?: number | 'stdin';
  runId?: number;
  drainMs?: number;
  /** How many datagrams the peer sends: the drain ends soon after they are all in (MeterOptions.expectRx). */
  expectRx?: number;
  /** Keep each arrival's one-way delay (rx.delay_us). */
  delays?: boolean;
}

export interface MeterProcess {
  readonly pid: number | undefined;
  /** The meter's result once it exits (after the run and its drain, or after stop()). */
  readonly result: Promise<MeterResult>;
  /** SIGTERM: the meter stops and still prints what it has. */
  stop(): void;
  /** A meter started with `startAtMs: 'stdin'`: when it starts sending (epoch ms); resolves once it has read it. */
  start(atMs: number): Promise<void>;
}

export function meterArgv(s: MeterSpec): string[] {
  const argv = [process.execPath, METER_MAIN, '--bind', s.bind, '--peer', s.peer, '--pps', String(s.pps), '--duration-ms', String(s.durationMs)];
  argv.push(s.send === false ? '--no-send' : '--send');
  if (s.startAtMs !== undefined) argv.push('--start-at', s.startAtMs === 'stdin' ? 'stdin' : String(Math.round(s.startAtMs)));
  if (s.runId !== undefined) argv.push('--run-id', String(s.runId));
  if (s.drainMs !== undefined) argv.push('--drain-ms', String(s.drainMs));
  if (s.expectRx !== undefined) argv.push('--expect', String(s.expectRx));
  if (s.delays) argv.push('--delays');
  return withNetns(s.netns, argv);
}

/** Resolves once the meter is bound (its "listening" line), so a run may start; rejects if it exits first. */
export async function startMeter(spec: MeterSpec, opts: { readyTimeoutMs?: number; signal?: AbortSignal } = {}): Promise<MeterProcess> {
  const [file, ...args] = meterArgv(spec);
  const child: ResultPromise<{ reject: false; cancelSignal?: AbortSignal; buffer: true }> = execa(file!, args, {
    reject: false,
    buffer: true,
    cancelSignal: opts.signal,
    env: { LC_ALL: 'C' },
  });
  const where = spec.netns ? ` in ${spec.netns}` : '';
  let stderr = '';
  let told: (() => void) | null = null;
  child.stdin.on('error', () => {}); // a write racing the meter's exit
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`meter${where}: not listening after ${opts.readyTimeoutMs ?? 5000}ms: ${stderr.trim()}`)), opts.readyTimeoutMs ?? 5000);
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('meter: listening on ')) {
        clearTimeout(timer);
        resolve();
      }
      if (told && stderr.includes('meter: start at ')) told();
    });
    void child.then((r) => {
      clearTimeout(timer);
      reject(new Error(`meter${where} exited (${r.exitCode ?? r.signal}) before listening: ${stderr.trim()}`));
    });
  });
  const result = child.then((r) => {
    const line = String(r.stdout).trim().split('\n').pop() ?? '';
    if (!line) throw new Error(`meter${where} printed no result (exit ${r.exitCode ?? r.signal}): ${String(r.stderr).trim()}`);
    return meterResultSchema.parse(JSON.parse(line));
  });
  result.catch(() => {}); // the caller awaits it; keep an early failure from being unhandled meanwhile
  try {
    await ready;
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  const start = (atMs: number) => new Promise<void>((resolve, reject) => {
    if (spec.startAtMs !== 'stdin') return reject(new Error(`meter${where}: not started with startAtMs 'stdin'`));
    told = resolve;
    child.stdin.end(`${Math.round(atMs)}\n`);
    void result.then(() => reject(new Error(`meter${where} ended before it read its start time: ${stderr.trim()}`)), reject);
  });
  return { pid: child.pid, result, stop: () => void child.kill('SIGTERM'), start };
}
