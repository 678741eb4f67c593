// The meter as a program the lab starts in a namespace; prints one JSON line (MeterResult) when it ends or on SIGTERM.
import { parseArgs } from 'node:util';
import { formatHostPort, parseHostPort, runMeter, type MeterOptions } from './meter.js';

const USAGE = `usage: node dist/lab/meter/meter.main.js --bind ADDR:PORT --peer ADDR:PORT --pps N --duration-ms N
       [--send | --no-send] [--start-at EPOCH_MS | --start-at stdin] [--run-id N] [--drain-ms N] [--expect N] [--max-burst N] [--delays]`;

function intArg(name: string, v: string | undefined, dflt?: number): number {
  if (v === undefined) {
    if (dflt === undefined) throw new Error(`--${name} is required`);
    return dflt;
  }
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: not a number: "${v}"`);
  return n;
}

function options(argv: string[]): MeterOptions {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      bind: { type: 'string' },
      peer: { type: 'string' },
      pps: { type: 'string' },
      'duration-ms': { type: 'string' },
      send: { type: 'boolean' },
      'no-send': { type: 'boolean' },
      'start-at': { type: 'string' },
      'run-id': { type: 'string' },
      'drain-ms': { type: 'string' },
      expect: { type: 'string' },
      'max-burst': { type: 'string' },
      delays: { type: 'boolean' },
    },
  });
  if (!v.bind || !v.peer) throw new Error('--bind and --peer are required');
  if (v.send && v['no-send']) throw new Error('--send and --no-send together');
  const pps = intArg('pps', v.pps);
  if (!(pps >= 1 && pps <= 100_000)) throw new Error(`--pps: out of range: ${pps}`);
  const runId = intArg('run-id', v['run-id'], 0);
  if (!Number.isInteger(runId) || runId > 0xffffffff) throw new Error(`--run-id: not a u32: ${runId}`);
  return {
    bind: parseHostPort(v.bind),
    peer: parseHostPort(v.peer),
    pps,
    durationMs: intArg('duration-ms', v['duration-ms']),
    send: !v['no-send'],
    startAtMs: v['start-at'] === undefined ? undefined : v['start-at'] === 'stdin' ? startAtFromStdin() : intArg('start-at', v['start-at']),
    runId,
    drainMs: intArg('drain-ms', v['drain-ms'], 1000),
    expectRx: v.expect === undefined ? undefined : intArg('expect', v.expect),
    maxBurst: v['max-burst'] === undefined ? undefined : Math.max(1, intArg('max-burst', v['max-burst'])),
    delays: v.delays ?? false,
  };
}

/** `--start-at stdin`: the start time is the first line on stdin (epoch ms), written once the meter listens. */
function startAtFromStdin(): Promise<number> {
  const at = new Promise<number>((resolve, reject) => {
    let text = '';
    process.stdin.setEncoding('utf8');
    const onData = (chunk: string) => {
      text += chunk;
      const nl = text.indexOf('\n');
      if (nl < 0) return;
      process.stdin.off('data', onData).pause();
      const line = text.slice(0, nl).trim();
      try {
        const at = intArg('start-at', line);
        process.stderr.write(`meter: start at ${at}\n`);
        resolve(at);
      } catch (e) {
        reject(e);
      }
    };
    process.stdin.on('data', onData);
    process.stdin.once('end', () => reject(new Error('--start-at stdin: stdin closed before a start time')));
  });
  at.catch(() => {}); // awaited by the meter once it listens; a failure before that is reported then
  return at;
}

async function main(): Promise<void> {
  let opts: MeterOptions;
  try {
    opts = options(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`meter: ${(e as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  const stop = new AbortController();
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => stop.abort());
  const result = await runMeter({
    ...opts,
    signal: stop.signal,
    // The lab waits for this line before it lets the run start.
    onListening: (a) => process.stderr.write(`meter: listening on ${formatHostPort(a)}\n`),
  });
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

main().catch((e: unknown) => {
  process.stderr.write(`meter: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
