// bench/hq: the concentrator at fleet scale, in one process plus a load worker, on SQLite and on PostgreSQL in the same
// run, each part beside a baseline run the same way:
//   ingest   10,000 registered vehicles, 2,000 sending heartbeats every 5 s and switch events at >= 5,000/s over real HTTP,
//            each from its own address (loopback 127.64.0.0/18 stands in for the tunnel): request p50/p99, exactly once;
//            agents shipping what accumulated (at most one POST a second) vs one POST per event; the agents' callers
//            from the registry in memory (as HQ runs) vs a query per request; and where the server's time goes (the
//            caller's lookup and the phases after it, the commits, the event loop's delay, the CPU of HQ's event loop,
//            its other threads, the load worker, PostgreSQL's processes and the rest of the machine)
//   query    a 24 h log query for one vehicle among 10 M stored events: the (vehicle, at) index vs a full scan
//   memory   RSS and heap with the fleet's heartbeat history full
//   cold     each store opened and the registry and fleet state read; then programming 10,000 peers and routes (root,
//            a network namespace, wireguard-go): the reconciler's first pass as the daemon runs it (batched; median of
//            BENCH_COLD_RUNS), one change at a time (measured on a sample, extrapolated), and bare `wg addconf` +
//            `ip -batch` as the floor
// PostgreSQL is a private server (lab/postgres.ts, the store tests' and the lab's) with fsync on, started and removed by
// the bench.
// The ingest runs three times per store in the same process: agents answered once their batch is stored (the baseline,
// as older agents ship); answered 202 before the commit and asking for the durable mark after every batch (the first
// 2026-12 agents); answered 202 and told the mark in their next batch's or heartbeat's answer, asking only when idle
// (agents now). Its rate is events stored per second, from the timed run's start to the commit of its last event.
// Knobs: BENCH_VEHICLES BENCH_ACTIVE BENCH_RATE BENCH_SECONDS BENCH_EVENTS BENCH_COLD (0: skip) BENCH_COLD_SAMPLE
// BENCH_COLD_RUNS; BENCH_STORES=sqlite,postgres (either); BENCH_LOOKUP=both|cached|direct (the agents' callers from the
// map in memory as HQ runs, beside a query per request as before 2026-12-04; default both); BENCH_SHIP=batched (skip one-POST-per-event); BENCH_PG_LOOP=1
// (PostgreSQL's commits on the event loop too, beside its writer thread); BENCH_BASELINE=1 (the stores of 2026-12-03);
// BENCH_SQLITE_SYNC=NORMAL (fsync's share, not durable); BENCH_ONLY=cold (the cold start alone), ingest (ingest alone) or
// query (the query and the stores' cold start).
import { Agent, request } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import { monitorEventLoopDelay, performance as perf } from 'node:perf_hooks';

const env = (k: string, d: number) => (process.env[k] !== undefined ? Number(process.env[k]) : d);
const VEHICLES = env('BENCH_VEHICLES', 10_000);
const ACTIVE = env('BENCH_ACTIVE', 2000);
const RATE = env('BENCH_RATE', 5000);
const SECONDS = env('BENCH_SECONDS', 10);
const EVENTS = env('BENCH_EVENTS', 10_000_000);
const COLD = env('BENCH_COLD', 1);
const COLD_SAMPLE = env('BENCH_COLD_SAMPLE', 1000);
const COLD_RUNS = env('BENCH_COLD_RUNS', 3);
const ONLY = process.env.BENCH_ONLY;
const HEARTBEAT_MS = 5000;
const BATCH_EVERY_MS = 1000;
/** Requests started in the first seconds of the timed run are left out of the warm p99. */
const WARMUP_MS = 2000;
const NET = [127, 64, 0, 0]; // 127.64.0.0/18: HQ .0.1, vehicles from .0.2

const addr = (n: number) => `${NET[0]}.${NET[1]}.${(n >> 8) & 255}.${n & 255}`;
const vehicleAddr = (i: number) => addr(2 + i);
const vehicleName = (i: number) => `v${i}`;

// ---------------------------------------------------------------------------------------------------------------
// The load worker: the agents.

interface LoadIn {
  host: string;
  port: number;
  active: number;
  rate: number;
  seconds: number;
  batched: boolean;
  idBase: number;
  /**
   * How the agents ship: 'stored', answered once stored (older agents: the baseline); 'ask', answered 202 and then
   * asking GET /v1/events/durable after every batch (the first 2026-12 agents); 'carried', answered 202 and told the
   * mark by the next batch's answer or a heartbeat's, asking only with nothing else to send after the grace, or with
   * a full window (agent/ship/shipper.ts, as agents ship now).
   */
  ship: ShipMode;
}
type ShipMode = 'stored' | 'ask' | 'carried';
/** As agent/ship/shipper.ts: accepted batches in flight at most, and the grace before an idle agent asks. */
const MAX_ACCEPTED_BATCHES = 4;
const DURABLE_GRACE_MS = 2000;

export interface LoadOut {
  eventLat: number[];
  /** Latencies of event POSTs started after the warm-up. */
  eventLatWarm: number[];
  /** Each POST /v1/events after the warm-up: its first event's id, sent and answer received (ms since the epoch,
   *  performance.timeOrigin + now(): comparable with the server thread's). */
  eventTimes: Array<[string, number, number]>;
  /** Before the timed run every agent sends a heartbeat at once (as after an HQ restart): how long until all were answered, and their p99. */
  stormS: number;
  stormP99: number;
  hbLat: number[];
  generated: number;
  acked: number;
  posts: number;
  errors: string[];
  elapsedS: number;
  /** From a POST sent to its events known durable (its 200, or the durable mark covering its 202's ticket). */
  durableLat: number[];
  durableGets: number;
  /** The load worker's own CPU over the timed run and drain (ms): what it takes from the 2 cores the server shares. */
  cpuMs: number;
}

function uuidOf(n: number): string {
  const h = n.toString(16).padStart(12, '0');
  return `00000000-0000-4000-8000-${h}`;
}

async function loadWorker(o: LoadIn): Promise<LoadOut> {
  const agents = Array.from({ length: o.active }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
  const queues: object[][] = Array.from({ length: o.active }, () => []);
  const seq = new Array<number>(o.active).fill(0);
  const inflight = new Array<boolean>(o.active).fill(false);
  const lastSent = new Array<number>(o.active).fill(0);
  const out: LoadOut = { eventLat: [], eventLatWarm: [], eventTimes: [], stormS: 0, stormP99: 0, hbLat: [], generated: 0, acked: 0, posts: 0, errors: [], elapsedS: 0, durableLat: [], durableGets: 0, cpuMs: 0 };
  // 'carried': each agent's batches answered 202 and not yet known durable, and when the last was accepted.
  type Held = { batch: object[]; epoch: string; ticket: number; startedAt: number };
  const held: Held[][] = Array.from({ length: o.active }, () => []);
  const heldAt = new Array<number>(o.active).fill(0);
  const asking = new Array<boolean>(o.active).fill(false);
  /** A mark told to agent i (in an answer): what it covers is durable, another epoch's is shipped again. */
  const settle = (i: number, m: unknown) => {
    const mark = m as { epoch?: unknown; upto?: unknown } | null | undefined;
    if (!held[i]!.length || typeof mark?.epoch !== 'string' || typeof mark.upto !== 'number') return;
    const keep: Held[] = [];
    for (const h of held[i]!) {
      if (h.epoch === mark.epoch && h.ticket <= mark.upto) {
        out.acked += h.batch.length;
        out.durableLat.push(performance.now() - h.startedAt);
      } else if (h.epoch !== mark.epoch) {
        if (out.errors.length < 10) out.errors.push(`another epoch: ${h.batch.length} shipped again`);
        queues[i]!.unshift(...h.batch);
      } else keep.push(h);
    }
    held[i] = keep;
  };
  /** 'carried': agent i asks for the mark (nothing else to send after the grace, or a full window). */
  const ask = (i: number) => {
    const last = held[i]![held[i]!.length - 1]!;
    asking[i] = true;
    post(i, `/v1/events/durable?epoch=${last.epoch}&upto=${last.ticket}`, undefined, (_ms, st, m) => {
      out.durableGets++;
      asking[i] = false;
      if (st === 200) settle(i, m);
      else if (out.errors.length < 10) out.errors.push(`durable: HTTP ${st}`);
    });
  };
  const wantsMark = (i: number, now: number) =>
    o.ship === 'carried' && !asking[i] && !inflight[i] && held[i]!.length > 0 && (held[i]!.length >= MAX_ACCEPTED_BATCHES || (!queues[i]!.length && now - heldAt[i]! >= DURABLE_GRACE_MS));
  const mayShip = (i: number) => !inflight[i] && queues[i]!.length > 0 && held[i]!.length < MAX_ACCEPTED_BATCHES;
  let pending = 0;
  let start = performance.now();

  const post = (i: number, path: string, body: unknown, onDone: (ms: number, status: number, json: unknown, startedAt: number) => void, extra: Record<string, string> = {}) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const t = performance.now();
    pending++;
    const req = request(
      { host: o.host, port: o.port, method: payload ? 'POST' : 'GET', path, agent: agents[i], localAddress: vehicleAddr(i), headers: { ...extra, ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          pending--;
          let json: unknown = null;
          try {
            json = JSON.parse(Buffer.concat(chunks).toString());
          } catch {
            // keep null
          }
          onDone(performance.now() - t, res.statusCode ?? 0, json, t);
        });
      },
    );
    req.on('error', (err) => {
      pending--;
      if (out.errors.length < 10) out.errors.push(err.message);
    });
    req.end(payload);
  };

  const ship = (i: number) => {
    const batch = queues[i]!.splice(0, 1000);
    if (!batch.length) return;
    inflight[i] = true;
    lastSent[i] = performance.now();
    out.posts++;
    post(i, '/v1/events', { events: batch }, (ms, status, json, startedAt) => {
      out.eventLat.push(ms);
      if (startedAt - start >= WARMUP_MS) {
        out.eventLatWarm.push(ms);
        const id = (batch[0] as { id: string }).id;
        out.eventTimes.push([id, performance.timeOrigin + startedAt, performance.timeOrigin + startedAt + ms]);
      }
      // As the agent's shipper: the next POST once these are durable (a 200, or a durable mark covering the 202's ticket).
      const next = () => {
        inflight[i] = false;
        if (!o.batched && mayShip(i)) ship(i);
      };
      if (status === 200) {
        out.acked += (json as { stored: string[] }).stored.length;
        out.durableLat.push(ms);
        if (o.ship === 'carried') settle(i, (json as { durable?: unknown }).durable);
        return next();
      }
      if (status === 202 && o.ship === 'carried') {
        // The answer's mark covers earlier batches (never this one); this one waits for a later answer's.
        const a = json as { epoch: string; ticket: number; durable?: unknown };
        settle(i, a.durable);
        held[i]!.push({ batch, epoch: a.epoch, ticket: a.ticket, startedAt });
        heldAt[i] = performance.now();
        return next();
      }
      if (status === 202) {
        const a = json as { accepted: string[]; epoch: string; ticket: number };
        const confirm = () =>
          post(i, `/v1/events/durable?epoch=${a.epoch}&upto=${a.ticket}`, undefined, (_ms, st, m) => {
            out.durableGets++;
            const mark = m as { epoch?: string; upto?: number } | null;
            if (st === 200 && mark?.epoch === a.epoch && mark.upto! >= a.ticket) {
              out.acked += a.accepted.length;
              out.durableLat.push(performance.now() - startedAt);
              return next();
            }
            if (st === 200 && mark?.epoch === a.epoch) return confirm();
            if (out.errors.length < 10) out.errors.push(`not durable: HTTP ${st} ${JSON.stringify(m).slice(0, 200)}; shipped again`);
            queues[i]!.unshift(...batch);
            next();
          });
        return confirm();
      }
      if (out.errors.length < 10) out.errors.push(`HTTP ${status} ${JSON.stringify(json).slice(0, 200)}`);
      next();
    }, o.ship !== 'stored' ? { prefer: 'respond-async' } : {});
  };

  const heartbeat = (i: number, done: (ms: number, json: unknown) => void = (ms, json) => {
    out.hbLat.push(ms);
    if (o.ship === 'carried') settle(i, (json as { durable?: unknown } | null)?.durable);
  }) =>
    post(i, '/v1/heartbeat', {
      vehicle: vehicleName(i), at: new Date().toISOString(), active: 'wlan0', site: 'depot', journal_backlog: queues[i]!.length, sites_version: 0,
      uplinks: [
        { name: 'wlan0', kind: 'wifi', state: 'ready', ready: true, signal: -60 - (i % 20), rtt_ms: 12, loss: 0, ap: { ssid: 'depot', bssid: '02:00:00:00:00:01' }, rx_bytes: 1e6, tx_bytes: 2e6 },
        { name: 'wlan1', kind: 'wifi', state: 'ready', ready: true, signal: -70, rtt_ms: 15, loss: 0, ap: { ssid: 'street-7', bssid: '02:00:00:00:00:02' }, rx_bytes: 1e5, tx_bytes: 2e5 },
        { name: 'wwan0', kind: 'lte', state: 'ready', ready: true, signal: -95, rtt_ms: 45, loss: 0.01, ap: null, rx_bytes: 1e4, tx_bytes: 2e4 },
      ],
    }, (ms, _st, json) => done(ms, json));

  // The reconnect storm: every agent at once, then the timed run on connections that are up (as a running fleet's are).
  const storm: number[] = [];
  for (let i = 0; i < o.active; i++) heartbeat(i, (ms) => storm.push(ms));
  while (storm.length < o.active && performance.now() - start < 60_000) await sleep(5);
  out.stormS = (performance.now() - start) / 1000;
  out.stormP99 = pct(storm, 99);
  out.hbLat = [];
  parentPort?.postMessage('timed');
  start = performance.now();
  const cpu0 = process.threadCpuUsage();
  // Agents' shipping turns are spread over the interval, as in a fleet (not all on the same tick).
  for (let i = 0; i < o.active; i++) lastSent[i] = start - Math.random() * BATCH_EVERY_MS;
  const end = start + o.seconds * 1000;
  const nextHb = Array.from({ length: o.active }, (_, i) => start + (i * HEARTBEAT_MS) / o.active);
  const UPLINKS = ['wlan0', 'wlan1', 'wwan0'];
  while (performance.now() < end) {
    const now = performance.now();
    const due = Math.floor(((now - start) / 1000) * o.rate) - out.generated;
    for (let k = 0; k < due; k++) {
      const i = Math.floor(Math.random() * o.active);
      const s = ++seq[i]!;
      queues[i]!.push({
        id: uuidOf(o.idBase + out.generated), vehicle: vehicleName(i), seq: s, at: new Date().toISOString(),
        from: UPLINKS[s % 3], to: UPLINKS[(s + 1) % 3], reason: 'signal', why: 'wlan0 below -75 dBm for 1 s', ms_to_first_packet: 4.2, site: 'depot',
        candidates: UPLINKS.map((name) => ({ name, phase: 'ready', ready: true, signal: -70, rtt_ms: 12, loss: 0 })),
      });
      out.generated++;
      if (!o.batched && mayShip(i)) ship(i);
    }
    for (let i = 0; i < o.active; i++) {
      if (o.batched && mayShip(i) && now - lastSent[i]! >= BATCH_EVERY_MS) ship(i);
      else if (wantsMark(i, now)) ask(i);
      if (now >= nextHb[i]!) {
        nextHb[i]! += HEARTBEAT_MS;
        heartbeat(i);
      }
    }
    await sleep(5);
  }
  // Drain: everything generated is shipped before the run ends.
  const drainUntil = performance.now() + 30_000;
  while (performance.now() < drainUntil && (pending > 0 || queues.some((q) => q.length) || held.some((h) => h.length))) {
    const now = performance.now();
    for (let i = 0; i < o.active; i++) {
      if (mayShip(i)) ship(i);
      else if (wantsMark(i, now)) ask(i);
    }
    await sleep(5);
  }
  out.elapsedS = (performance.now() - start) / 1000;
  const cpu = process.threadCpuUsage(cpu0);
  out.cpuMs = (cpu.user + cpu.system) / 1000;
  for (const a of agents) a.destroy();
  return out;
}

if (!isMainThread) {
  loadWorker(workerData as LoadIn).then((r) => parentPort!.postMessage(r));
}

// ---------------------------------------------------------------------------------------------------------------
// Statistics and the table.

function pct(xs: number[], p: number): number {
  if (!xs.length) return NaN;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
const med = (xs: number[]) => pct(xs, 50);
const fmt = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');
const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

function table(header: string[], rows: string[][]): void {
  const all = [header, ...rows];
  const w = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  for (const r of all) console.log(r.map((c, i) => c.padEnd(w[i]!)).join('  '));
}

// ---------------------------------------------------------------------------------------------------------------
// Where the server's time goes: each POST /v1/events timed by phase (fastify's hooks, the ingest and the group
// commit wrapped; a request known by its batch's first event id), the commits, and the event loop's delay.

type EventStoreT = import('../concentrator/store/events/service.js').EventStore;
type TimedEventT = import('../concentrator/store/events/schema.js').TimedEvent;
type IngestResultT = import('../concentrator/store/events/service.js').IngestResult;

interface Phases {
  /** When Node's HTTP server emitted the request (its headers parsed), before Fastify. */
  arrived?: number;
  /** When its caller's lookup began (the app's own onRequest: identify). */
  id0?: number;
  req0: number;
  parsed?: number;
  call?: number;
  flushStart?: number;
  flushEnd?: number;
  done?: number;
  /** Answered 202, before its commit. */
  accepted?: boolean;
}

/** /proc's clock ticks per second. */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();
/** CPU ms of the process `root` and its children, live or exited (PostgreSQL's postmaster and its backends), from /proc. */
function treeCpuMs(root: number): number {
  let ticks = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${d}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // Fields after the command name (which may hold spaces): state ppid ... utime (14th field) stime (15th).
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // The root's own and its waited-for children's (cutime, cstime: a backend that exited meanwhile), and each live child's.
    if (Number(d) === root) ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    else if (Number(f[1]) === root) ticks += Number(f[11]) + Number(f[12]);
  }
  return (ticks / CLK_TCK) * 1000;
}
/** The machine's CPU ms, all and idle, summed over its CPUs (/proc/stat). */
function machineCpuMs(): { all: number; idle: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const all = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { all: (all / CLK_TCK) * 1000, idle: ((f[3]! + f[4]!) / CLK_TCK) * 1000 };
}

class IngestProfile {
  private readonly byId = new Map<string, Phases>();
  private readonly identifyMs: number[] = [];
  /** When each address's latest lookup began (an agent has one request in flight: one socket, keep-alive). */
  private readonly identStart = new Map<string, number>();
  private pg0 = 0;
  /** PostgreSQL's processes' CPU over the timed run (ms). */
  pgMs = NaN;
  private mach0: { all: number; idle: number } | null = null;
  private mach: { all: number; idle: number } | null = null;
  /** The load worker's CPU over the timed run (ms), told by ingestRun. */
  loadCpuMs = NaN;
  /** How the lookups were answered (a cache's stats), told by ingestRun. */
  lookups = '';
  constructor(private readonly pgPid: number | null = null) {}
  private readonly flushes: Array<{ ms: number; batches: number; events: number }> = [];
  private readonly delay = monitorEventLoopDelay({ resolution: 1 });
  private elu: ReturnType<typeof perf.eventLoopUtilization> | null = null;
  private eluEnd: ReturnType<typeof perf.eventLoopUtilization> | null = null;
  private cpu0: NodeJS.CpuUsage | null = null;
  private thread0: NodeJS.CpuUsage | null = null;
  /** The main thread's own CPU time over the run (ms): the event loop's work, whatever the machine's load. */
  threadCpuMs = NaN;
  private cpu: NodeJS.CpuUsage | null = null;
  private t0 = 0;
  private t1 = 0;
  /** The timed run's length (s). */
  get seconds(): number {
    return (this.t1 - this.t0) / 1000;
  }
  private lastCommitAt = 0;

  /** Events stored per second: from the timed run's start to the commit of its last event (the drain included). */
  storedRate(stored: number): number {
    return stored / ((this.lastCommitAt - this.t0) / 1000);
  }

  /** The event loop's utilization over the run, 0..1. */
  get utilization(): number {
    return this.eluEnd?.utilization ?? NaN;
  }

  start(): void {
    this.delay.enable();
    this.elu = perf.eventLoopUtilization();
    this.cpu0 = process.cpuUsage();
    this.thread0 = process.threadCpuUsage();
    if (this.pgPid) this.pg0 = treeCpuMs(this.pgPid);
    this.mach0 = machineCpuMs();
    this.t0 = performance.now();
  }

  stop(): void {
    this.delay.disable();
    this.eluEnd = perf.eventLoopUtilization(this.elu!);
    this.cpu = process.cpuUsage(this.cpu0!);
    const th = process.threadCpuUsage(this.thread0!);
    this.threadCpuMs = (th.user + th.system) / 1000;
    if (this.pgPid) this.pgMs = treeCpuMs(this.pgPid) - this.pg0;
    const m = machineCpuMs();
    this.mach = { all: m.all - this.mach0!.all, idle: m.idle - this.mach0!.idle };
    this.t1 = performance.now();
  }

  wrapIdentify(f: (address: string) => Promise<{ name: string } | null>) {
    return async (address: string) => {
      const s = performance.now();
      this.identStart.set(address, s);
      try {
        return await f(address);
      } finally {
        this.identifyMs.push(performance.now() - s);
      }
    };
  }

  wrapIngest(f: (events: readonly TimedEventT[]) => Promise<IngestResultT>) {
    return (events: readonly TimedEventT[]) => {
      const p = events[0] && this.byId.get(events[0].id);
      if (p) p.call = performance.now();
      return f(events);
    };
  }

  wrapAccept<T>(f: (events: readonly TimedEventT[]) => T) {
    return (events: readonly TimedEventT[]) => {
      const p = events[0] && this.byId.get(events[0].id);
      if (p) Object.assign(p, { call: performance.now(), accepted: true });
      return f(events);
    };
  }

  /** From identified to committed, each POST /v1/events (for a 202, after its answer). */
  durableMs(): number[] {
    return [...this.byId.values()].filter((p) => p.flushEnd !== undefined).map((p) => p.flushEnd! - p.req0);
  }

  wrapStore(store: EventStoreT) {
    return {
      ingestMany: async (batches: ReadonlyArray<readonly TimedEventT[]>) => {
        const s = performance.now();
        const r = await store.ingestMany(batches);
        const e = performance.now();
        this.lastCommitAt = e;
        this.flushes.push({ ms: e - s, batches: batches.length, events: batches.reduce((n, b) => n + b.length, 0) });
        for (const b of batches) {
          const p = b[0] && this.byId.get(b[0].id);
          if (p) Object.assign(p, { flushStart: s, flushEnd: e });
        }
        return r;
      },
    };
  }

  hook(app: import('fastify').FastifyInstance): void {
    const began = new WeakMap<object, number>();
    const idOf = new WeakMap<object, string>();
    const idStarted = new WeakMap<object, number>();
    const arrived = new WeakMap<object, number>();
    // Before Fastify's own listener: when the request's headers were parsed.
    app.server.prependListener('request', (raw: object) => arrived.set(raw, performance.now()));
    // Registered after the app's own onRequest (identity): this request's time from identified on.
    app.addHook('onRequest', async (req) => {
      if (req.url !== '/v1/events') return;
      began.set(req, performance.now());
      const a = req.socket.remoteAddress ?? '';
      const id0 = this.identStart.get(a.startsWith('::ffff:') ? a.slice(7) : a);
      if (id0 !== undefined) idStarted.set(req, id0);
    });
    app.addHook('preValidation', async (req) => {
      const id = (req.body as { events?: Array<{ id?: string }> } | undefined)?.events?.[0]?.id;
      const t = began.get(req);
      if (id === undefined || t === undefined) return;
      idOf.set(req, id);
      this.byId.set(id, { req0: t, parsed: performance.now(), id0: idStarted.get(req), arrived: arrived.get(req.raw) });
    });
    app.addHook('onResponse', async (req) => {
      const id = idOf.get(req);
      const p = id !== undefined ? this.byId.get(id) : undefined;
      if (p) p.done = performance.now();
    });
  }

  /** Server time of each POST /v1/events from its lookup's start (the app's first hook) to answered. */
  serverWithLookupMs(): number[] {
    return [...this.byId.values()].filter((p) => p.done !== undefined && p.id0 !== undefined).map((p) => p.done! - p.id0!);
  }

  /**
   * Where an agent's wait goes, each POST /v1/events after the warm-up (the client's times from the load worker, the
   * server's from this thread, both on the epoch's scale): sent to Node's 'request' (the kernel, HQ's event loop getting
   * to the socket, the headers parsed), to the app's first hook, the request's own handling (the lookup included), and
   * the answer's way back (the kernel, the load worker's event loop). "Answered" is Fastify's onResponse, which runs
   * when HQ's event loop gets to it: a busy loop may see it after the agent already has the answer.
   */
  printAgentView(times: Array<[string, number, number]>): void {
    const o = performance.timeOrigin;
    const rows: Array<{ total: number; toNode: number; toHook: number; handling: number; back: number }> = [];
    for (const [id, sent, got] of times) {
      const p = this.byId.get(id);
      if (!p || p.arrived === undefined || p.id0 === undefined || p.done === undefined) continue;
      rows.push({ total: got - sent, toNode: o + p.arrived - sent, toHook: p.id0 - p.arrived, handling: p.done - p.id0, back: got - (o + p.done) });
    }
    if (!rows.length) return;
    const slow = [...rows].sort((a, b) => b.total - a.total).slice(0, Math.max(1, Math.ceil(rows.length / 100)));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const parts: Array<[string, (r: (typeof rows)[number]) => number]> = [
      ['asked -> HQ\'s HTTP server has it (the load worker writing it, kernel, HQ\'s event loop, headers parsed)', (r) => r.toNode],
      ['-> the app\'s first hook (Fastify)', (r) => r.toHook],
      ['-> answered (lookup, body, checks, 202)', (r) => r.handling],
      ['answered -> the agent has it (kernel, the load worker\'s loop; < 0: HQ\'s loop saw its answer finish late)', (r) => r.back],
      ['total, as the agent measured it', (r) => r.total],
    ];
    console.log(`    the agents' wait, POSTs after the warm-up (${rows.length}):`);
    table(['      part', 'median ms', 'p99 ms', 'mean in the slowest 1 % (by total)'], parts.map(([n, f]) => [`      ${n}`, fmt(med(rows.map(f)), 2), fmt(pct(rows.map(f), 99), 2), fmt(mean(slow.map(f)), 2)]));
  }

  /** Server time of each POST /v1/events, identified to answered (as bench/hq has always reported it). */
  serverMs(): number[] {
    return [...this.byId.values()].filter((p) => p.done !== undefined).map((p) => p.done! - p.req0);
  }

  print(title: string): void {
    const all = [...this.byId.values()].filter((p) => p.done !== undefined && p.flushEnd !== undefined && p.call !== undefined && p.parsed !== undefined);
    if (!all.length) return;
    const early = all.some((p) => p.accepted);
    const lookup: Array<[string, (p: Phases) => number]> = all.every((p) => p.id0 !== undefined)
      ? [['the caller\'s lookup (identify, before the rest)', (p) => p.req0 - p.id0!], ['total from the lookup\'s start to answered', (p) => p.done! - p.id0!]]
      : [];
    type Phase = [string, (p: Phases) => number];
    const phases: Phase[] = [...lookup, ...(early
      ? ([
        ['body read + JSON parse', (p) => p.parsed! - p.req0],
        ['zod + checks + times', (p) => p.call! - p.parsed!],
        ['answer 202 (queued, serialize, write)', (p) => p.done! - p.call!],
        ['total (the answer)', (p) => p.done! - p.req0],
        ['after the answer: waiting for the group commit', (p) => p.flushStart! - p.call!],
        ['after the answer: commit (SQL, fsync)', (p) => p.flushEnd! - p.flushStart!],
        ['identified to durable', (p) => p.flushEnd! - p.req0],
      ] as Phase[])
      : ([
        ['body read + JSON parse', (p) => p.parsed! - p.req0],
        ['zod + checks + times', (p) => p.call! - p.parsed!],
        ['waiting for the group commit', (p) => p.flushStart! - p.call!],
        ['commit (SQL, fsync)', (p) => p.flushEnd! - p.flushStart!],
        ['answer (resolve, serialize, write)', (p) => p.done! - p.flushEnd!],
        ['total', (p) => p.done! - p.req0],
      ] as Phase[]))];
    const total = (p: Phases) => p.done! - p.req0;
    const slow = [...all].sort((a, b) => total(b) - total(a)).slice(0, Math.max(1, Math.ceil(all.length / 100)));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    console.log(`  ${title} (${all.length} requests):`);
    table(['    phase', 'median ms', 'p99 ms', 'mean in the slowest 1 %'], phases.map(([n, f]) => [`    ${n}`, fmt(med(all.map(f)), 2), fmt(pct(all.map(f), 99), 2), fmt(mean(slow.map(f)), 2)]));
    const secs = (this.t1 - this.t0) / 1000;
    const ev = this.flushes.map((f) => f.events);
    console.log(`    identify, every request (POSTs, heartbeats, GETs): median ${fmt(med(this.identifyMs), 2)} ms, p99 ${fmt(pct(this.identifyMs, 99), 2)} ms${this.lookups ? `; ${this.lookups}` : ''}`);
    console.log(`    commits: ${fmt(this.flushes.length / secs, 0)}/s, ${fmt(med(this.flushes.map((f) => f.batches)), 0)} request(s) and ${fmt(med(ev), 0)} events each (median), commit median ${fmt(med(this.flushes.map((f) => f.ms)), 2)} ms, p99 ${fmt(pct(this.flushes.map((f) => f.ms), 99), 2)} ms, max ${fmt(Math.max(...this.flushes.map((f) => f.ms)), 1)} ms`);
    console.log(`    event loop: delay median ${fmt(this.delay.percentile(50) / 1e6, 2)} ms, p99 ${fmt(this.delay.percentile(99) / 1e6, 2)} ms, max ${fmt(this.delay.max / 1e6, 1)} ms; utilization ${fmt((this.eluEnd?.utilization ?? NaN) * 100, 0)} %; process CPU (server + load worker) ${fmt(((this.cpu!.user + this.cpu!.system) / 1e6 / secs) * 100, 0)} % of a core`);
    const proc = (this.cpu!.user + this.cpu!.system) / 1000;
    const share = (ms: number) => `${fmt((ms / 1000 / secs) * 100, 0)} %`;
    console.log(`    CPU over the timed run, % of a core (${os.cpus().length} cores): HQ's event loop ${share(this.threadCpuMs)}, HQ's other threads (writer, GC, I/O) ${share(proc - this.threadCpuMs - this.loadCpuMs)}, the load worker ${share(this.loadCpuMs)}, PostgreSQL's processes ${Number.isFinite(this.pgMs) ? share(this.pgMs) : '-'}, the rest of the machine ${share(this.mach!.all - this.mach!.idle - proc - (Number.isFinite(this.pgMs) ? this.pgMs : 0))}, idle ${share(this.mach!.idle)}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The stores under test: SQLite (a file per run, as HQ's default) and PostgreSQL (a private server, durable).

interface IngestTarget {
  name: string;
  /** Which store (the summary's row) and whether this is its baseline (the way before 2026-12-03's changes). */
  store: 'SQLite' | 'PostgreSQL';
  baseline: boolean;
  /** The summary's row: the store and how callers are looked up. */
  label: string;
  identify: (address: string) => Promise<{ name: string } | null>;
  /** How the lookups were answered so far (a cache's counts), or null (not cached). */
  lookupStats: () => { hits: number; misses: number; loads: number } | null;
  /** PostgreSQL's postmaster (its processes' CPU is measured), or null. */
  pgPid: number | null;
  /** A switch log for one run, empty. */
  events(run: string): Promise<EventStoreT>;
  done(events: EventStoreT): Promise<void>;
  /** HQ's start, the store's part: openStores (schema checked), the whole registry and the fleet state read; medians. */
  coldOpen(): Promise<string>;
  close(): Promise<void>;
}

/** openStores on `cfg` then every vehicle and the fleet state read, COLD_RUNS times: the medians, as a line. */
async function coldOpenOf(cfg: { state_dir: string; database?: string }): Promise<string> {
  const { openStores } = await import('../concentrator/store/stores.js');
  const open: number[] = [];
  const read: number[] = [];
  let n = 0;
  for (let k = 0; k < Math.max(1, COLD_RUNS); k++) {
    const s0 = performance.now();
    const stores = await openStores({ state_dir: cfg.state_dir, database: cfg.database, tunnel_network: '127.64.0.0/18', lan_subnets: [], vehicle_subnets: ['10.0.0.0/8'] } as never);
    const s1 = performance.now();
    n = (await stores.vehicles.active()).length;
    await stores.fleet.load();
    read.push(performance.now() - s1);
    open.push(s1 - s0);
    await stores.close();
  }
  return `open ${fmt(med(open), 1)} ms, ${n} vehicles and the fleet state read in ${fmt(med(read), 1)} ms (medians of ${open.length})`;
}

/** The cache's parts, for a SQLite target (loaded in main). */
interface Callers {
  CallerCache: typeof import('../concentrator/store/vehicles/callers.js').CallerCache;
  sqliteRegistryWatch: typeof import('../concentrator/store/vehicles/callers.js').sqliteRegistryWatch;
  readCallers: typeof import('../concentrator/store/vehicles/callers.js').readCallers;
  store: import('../concentrator/store/sql.js').StoreDb;
}
const cacheLine = (st: { hits: number; misses: number; loads: number }) => `callers from memory: ${st.hits} of ${st.hits + st.misses} lookups (${fmt((st.hits / Math.max(1, st.hits + st.misses)) * 100, 2)} %), the map read ${st.loads} time(s)`;

function sqliteTarget(
  dir: string, reg: import('../concentrator/store/db.js').Db,
  openEventsDb: typeof import('../concentrator/store/events/db.js').openEventsDb,
  EventStore: typeof import('../concentrator/store/events/service.js').EventStore,
  createVehicleLookup: typeof import('../concentrator/agent-api/identity.js').createVehicleLookup,
  sqliteEventWriter: typeof import('../concentrator/store/events/writer.js').sqliteEventWriter,
  writerThread: boolean,
  callers: Callers | null,
): IngestTarget {
  const sync = (process.env.BENCH_SQLITE_SYNC ?? 'FULL') as 'FULL' | 'NORMAL';
  const writers = new Map<EventStoreT, ReturnType<typeof sqliteEventWriter>>();
  const direct = createVehicleLookup(reg);
  const cache = callers && new callers.CallerCache(callers.readCallers(callers.store), callers.sqliteRegistryWatch(callers.store), direct);
  return {
    store: 'SQLite',
    baseline: !writerThread || !cache,
    label: `SQLite, ${!writerThread ? 'commits on the event loop, ' : ''}${cache ? 'callers from memory' : 'a lookup a request'}`,
    name: `SQLite (WAL, synchronous=${sync}), ${writerThread ? 'commits in the writer thread' : 'commits on the event loop (baseline: before the writer thread)'}, ${cache ? 'callers from memory, data_version checked (as HQ runs)' : 'a SELECT per request for the caller (before 2026-12-04)'}`,
    identify: cache ? (a) => cache.lookup(a) : direct,
    lookupStats: () => (cache ? { ...cache.stats } : null),
    pgPid: null,
    events: async (run) => {
      const path = join(dir, `ingest-${run}-${writerThread ? 'thread' : 'loop'}-${cache ? 'cached' : 'direct'}.sqlite`);
      const db = openEventsDb(path, { synchronous: sync });
      if (!writerThread) return new EventStore(db);
      const writer = sqliteEventWriter(path, { synchronous: sync });
      const store = new EventStore(db, { writer });
      writers.set(store, writer);
      return store;
    },
    done: async (e) => {
      await writers.get(e)?.close();
      await e.store.close();
    },
    coldOpen: () => coldOpenOf({ state_dir: dir }),
    close: async () => {},
  };
}

/** A private PostgreSQL (lab/postgres.ts) with fsync on, as a production server runs. */
async function startBenchPostgres() {
  const { startTestPostgres, postgresBin } = await import('../lab/postgres.js');
  if (!postgresBin()) {
    console.log('\nPostgreSQL: skipped (not installed: ROAMLINK_SETUP_TESTS=1 bash deploy/setup.sh)');
    return null;
  }
  return startTestPostgres({ durable: true, onSignals: true });
}

/** The bench's PostgreSQL database with the same 10,000 vehicles as the SQLite registry. */
async function postgresBenchDb(server: import('../lab/postgres.js').TestPostgres, reg: import('../concentrator/store/db.js').Db): Promise<string> {
  const { openPostgres } = await import('../concentrator/store/postgres.js');
  const { sql } = await import('kysely');
  const url = await server.createDatabase('bench');
  const store = await openPostgres(url);
  const rows = reg.prepare('SELECT name, public_key, tunnel_address, subnet, site, created_at FROM vehicles ORDER BY id').all() as Array<Record<string, string>>;
  for (let i = 0; i < rows.length; i += 1000) {
    const chunk = rows.slice(i, i + 1000);
    await sql`INSERT INTO vehicles (name, public_key, tunnel_address, subnet, site, created_at) VALUES ${sql.join(chunk.map((r) => sql`(${r.name}, ${r.public_key}, ${r.tunnel_address}, ${r.subnet}, ${r.site}, ${r.created_at})`))}`.execute(store.db);
  }
  await store.close();
  return url;
}

/**
 * PostgreSQL as openStores opens it (lookups on a pool of their own, the ingest's commits in a writer thread), or
 * without the writer thread (commits on the event loop's pool, as before 2026-12-04), or, as the baseline of
 * 2026-12-03, lookups on the commits' pool too.
 */
async function postgresTarget(url: string, lookupPool: boolean, writerThread: boolean, cached: boolean, pgPid: number | null): Promise<IngestTarget> {
  const { postgresEventWriter } = await import('../concentrator/store/events/writer.js');
  const writers = new Map<EventStoreT, ReturnType<typeof postgresEventWriter>>();
  const { openPostgres } = await import('../concentrator/store/postgres.js');
  const { EventStore } = await import('../concentrator/store/events/service.js');
  const { createVehicleLookup } = await import('../concentrator/agent-api/identity.js');
  const { sql } = await import('kysely');
  const store = await openPostgres(url, lookupPool ? { lookupMax: 2 } : {});
  const shared = { db: store.db, dialect: store.dialect, ...(store.lookup ? { lookup: store.lookup } : {}), close: async () => {} };
  const { CallerCache, readCallers } = await import('../concentrator/store/vehicles/callers.js');
  const { postgresRegistryWatch } = await import('../concentrator/store/vehicles/watch.postgres.js');
  const direct = createVehicleLookup(shared);
  const watch = cached ? postgresRegistryWatch(url) : null;
  await watch?.ready();
  const cache = watch && new CallerCache(readCallers(shared), watch, direct);
  return {
    store: 'PostgreSQL',
    baseline: !lookupPool || !writerThread || !cache,
    label: `PostgreSQL, ${!writerThread ? 'commits on the event loop, ' : ''}${cache ? 'callers from memory' : 'a lookup a request'}`,
    name: `PostgreSQL (fsync on, synchronous_commit on, unix socket), ${!lookupPool ? 'lookups on the commits\' pool, commits on the event loop (baseline of 2026-12-03)' : writerThread ? 'commits in a writer thread' : 'commits on the event loop (before the writer thread)'}, ${cache ? 'callers from memory, LISTEN/NOTIFY (as HQ runs)' : lookupPool ? 'a SELECT per request for the caller on a pool of its own (before 2026-12-04)' : 'a SELECT per request'}`,
    identify: cache ? (a) => cache.lookup(a) : direct,
    lookupStats: () => (cache ? { ...cache.stats } : null),
    pgPid,
    events: async () => {
      await sql`TRUNCATE switch_events`.execute(store.db);
      if (!writerThread) return new EventStore(shared);
      const writer = postgresEventWriter(url);
      const events = new EventStore(shared, { writer });
      writers.set(events, writer);
      return events;
    },
    done: async (e) => {
      await writers.get(e)?.close();
    },
    coldOpen: () => coldOpenOf({ state_dir: tmpdir(), database: url }),
    close: async () => {
      await watch?.close();
      await store.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The parts.

async function main() {
  const { openDb } = await import('../concentrator/store/db.js');
  const { openEventsDb } = await import('../concentrator/store/events/db.js');
  const { EventStore } = await import('../concentrator/store/events/service.js');
  const { GroupCommit } = await import('../concentrator/agent-api/ingest.js');
  const { FleetState } = await import('../concentrator/agent-api/fleet.js');
  const { buildAgentApi } = await import('../concentrator/agent-api/app.js');
  const { createVehicleLookup } = await import('../concentrator/agent-api/identity.js');
  const { HqMetrics } = await import('../concentrator/metrics/hq.metrics.js');
  const { AGENT_API_BACKLOG } = await import('../concentrator/admin/fleet-ops.js');
  const { heartbeatSchema } = await import('../shared/wire/heartbeat.js');

  const dir = mkdtempSync(join(tmpdir(), 'rl-bench-hq-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  console.log(`bench/hq: ${VEHICLES} vehicles registered, ${ACTIVE} sending heartbeats every ${HEARTBEAT_MS / 1000} s and switch events at ${RATE}/s for ${SECONDS} s; a 24 h query among ${(EVENTS / 1e6).toFixed(1)} M events; cold start of ${VEHICLES} peers`);

  // The registry: 10,000 vehicles in one transaction (the service's per-add checks are O(n); not what is measured).
  const reg = openDb(join(dir, 'registry.sqlite'));
  const ins = reg.prepare('INSERT INTO vehicles (name, public_key, tunnel_address, subnet, site, created_at) VALUES (?, ?, ?, ?, ?, ?)');
  reg.transaction(() => {
    for (let i = 0; i < VEHICLES; i++) {
      const key = Buffer.alloc(32);
      key.writeUInt32BE(i + 1, 0);
      ins.run(vehicleName(i), key.toString('base64'), vehicleAddr(i), `10.${20 + (i >> 8)}.${i & 255}.0/24`, 'depot', new Date().toISOString());
    }
  })();

  if (ONLY === 'cold') {
    await coldPart(reg, dir);
    reg.close();
    cleanup();
    return;
  }
  if (ONLY !== undefined && ONLY !== 'ingest' && ONLY !== 'query') throw new Error(`BENCH_ONLY must be "cold", "ingest" or "query", not "${ONLY}"`);

  // ---- ingest ----
  // ship: how the agents ship (LoadIn.ship): answered once stored (the baseline, as older agents), answered 202 and
  // asking for every mark (the first 2026-12 agents), or answered 202 and told the mark in later answers (agents now).
  const ingestRun = async (batched: boolean, idBase: number, target: IngestTarget, ship: ShipMode) => {
    const events = await target.events(`${batched ? 'batched' : 'single'}-${ship}`);
    const prof = new IngestProfile(target.pgPid);
    const lookups0 = target.lookupStats();
    const gc = new GroupCommit(prof.wrapStore(events));
    const fleet = new FleetState({ offlineAfterMs: 15_000 });
    const metrics = new HqMetrics({ fleet, registered: () => VEHICLES });
    const durability = { accept: prof.wrapAccept((b: readonly TimedEventT[]) => gc.accept(b)), mark: () => gc.mark(), untilDurable: (w: import('../shared/wire/switch-event.js').DurableMark, sig: AbortSignal) => gc.untilDurable(w, sig) };
    const app = buildAgentApi({ identify: prof.wrapIdentify(target.identify), ingest: prof.wrapIngest((b) => gc.submit(b)), durability, fleet, metrics });
    prof.hook(app);
    await app.listen({ host: addr(1), port: 0, backlog: AGENT_API_BACKLOG });
    const port = (app.server.address() as { port: number }).port;
    const worker = new Worker(new URL(import.meta.url), { workerData: { host: addr(1), port, active: ACTIVE, rate: RATE, seconds: SECONDS, batched, idBase, ship } satisfies LoadIn });
    const out = await new Promise<LoadOut>((resolve, reject) => {
      worker.on('message', (m: LoadOut | 'timed') => (m === 'timed' ? prof.start() : resolve(m)));
      worker.once('error', reject);
    });
    prof.stop();
    prof.loadCpuMs = out.cpuMs;
    const lookups1 = target.lookupStats();
    if (lookups0 && lookups1) prof.lookups = cacheLine({ hits: lookups1.hits - lookups0.hits, misses: lookups1.misses - lookups0.misses, loads: lookups1.loads - lookups0.loads });
    const stored = await events.count();
    await app.close();
    await target.done(events);
    return { out, stored, online: fleet.onlineCount(), fleet, serverMs: prof.serverMs(), durableMs: prof.durableMs(), prof };
  };

  const targets: IngestTarget[] = [];
  const only = (process.env.BENCH_STORES ?? 'sqlite,postgres').split(',');
  // Each store as HQ runs it; each run beside its baseline answering once stored (above). BENCH_BASELINE=1 adds the
  // stores as before 2026-12-03's changes as targets of their own: SQLite's commits on the event loop, and
  // PostgreSQL's lookups sharing the commits' pool.
  const baseline = env('BENCH_BASELINE', 0) !== 0;
  const { sqliteEventWriter } = await import('../concentrator/store/events/writer.js');
  // BENCH_LOOKUP: how the agents' API finds each caller's vehicle: 'both' (default: a query per request, as before
  // 2026-12-04, as the baseline beside the map in memory, as HQ runs now), 'cached' or 'direct' alone.
  const lookupMode = process.env.BENCH_LOOKUP ?? 'both';
  if (!['both', 'cached', 'direct'].includes(lookupMode)) throw new Error(`BENCH_LOOKUP must be "both", "cached" or "direct", not "${lookupMode}"`);
  const lookupModes = lookupMode === 'both' ? [false, true] : [lookupMode === 'cached'];
  const { CallerCache, sqliteRegistryWatch, readCallers } = await import('../concentrator/store/vehicles/callers.js');
  const { sqliteStore } = await import('../concentrator/store/sql.js');
  const callers: Callers = { CallerCache, sqliteRegistryWatch, readCallers, store: sqliteStore(reg) };
  if (only.includes('sqlite')) {
    if (baseline) targets.push(sqliteTarget(dir, reg, openEventsDb, EventStore, createVehicleLookup, sqliteEventWriter, false, null));
    for (const cached of lookupModes) targets.push(sqliteTarget(dir, reg, openEventsDb, EventStore, createVehicleLookup, sqliteEventWriter, true, cached ? callers : null));
  }
  const pgServer = only.includes('postgres') ? await startBenchPostgres() : null;
  if (pgServer) {
    const url = await postgresBenchDb(pgServer, reg);
    const pgPid = (() => {
      try {
        return Number(readFileSync(join(pgServer.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]) || null;
      } catch {
        return null;
      }
    })();
    if (baseline) targets.push(await postgresTarget(url, false, false, false, pgPid));
    // BENCH_PG_LOOP=1: PostgreSQL without the writer thread too, in the same run (what the thread changes).
    if (env('BENCH_PG_LOOP', 0) !== 0) targets.push(await postgresTarget(url, true, false, false, pgPid));
    for (const cached of lookupModes) targets.push(await postgresTarget(url, true, true, cached, pgPid));
  }
  type Run = Awaited<ReturnType<typeof ingestRun>>;
  const ingested: Array<{ target: IngestTarget; single: Run; asked: Run; batched: Run; stored: Run }> = [];
  for (const target of ONLY === 'query' ? [] : targets) {
    console.log(`\ningest on ${target.name} (real HTTP on loopback, group commit; ${os.cpus().length} CPUs, load average ${os.loadavg()[0]!.toFixed(1)} before):`);
    // BENCH_SHIP=batched skips the one-POST-per-event run (a profile of the batched case alone).
    const batchedOnly = process.env.BENCH_SHIP === 'batched';
    // The baseline first, in the same process: agents answered once their batch is stored; then the first 2026-12
    // agents (202, a GET per batch); then agents as they ship now (202, the mark carried in later answers).
    const stored = await ingestRun(true, 3e9, target, 'stored');
    const asked = await ingestRun(true, 2e9, target, 'ask');
    const batched = await ingestRun(true, 1e9, target, 'carried');
    const single = batchedOnly ? batched : await ingestRun(false, 0, target, 'carried');
    ingested.push({ target, single, asked, batched, stored });
    const row = (name: string, r: Run) => [
      name, String(r.out.generated), fmt(r.prof.storedRate(r.stored), 0), fmt(r.out.generated / r.out.elapsedS, 0), fmt(r.out.posts / r.out.elapsedS, 0), String(r.out.durableGets),
      fmt(med(r.out.eventLat), 2), fmt(pct(r.out.eventLat, 99), 2), fmt(pct(r.out.eventLatWarm, 99), 2), fmt(med(r.serverMs), 2), fmt(pct(r.serverMs, 99), 2),
      fmt(med(r.out.durableLat), 2), fmt(pct(r.out.durableLat, 99), 2), fmt(pct(r.out.hbLat, 99), 2), fmt(r.prof.utilization * 100, 0), fmt((r.out.cpuMs / 1000 / r.out.elapsedS) * 100, 0),
      r.stored === r.out.generated && r.out.acked === r.out.generated ? 'yes' : `NO (stored ${r.stored}, durable ${r.out.acked})`, String(r.online),
    ];
    table(['agents ship', 'events', 'stored/s', 'durable/s (client)', 'POSTs/s', 'GETs', 'answer median ms', 'answer p99 ms', `p99 after ${WARMUP_MS / 1000} s`, 'server median ms', 'server p99 ms', 'durable median ms', 'durable p99 ms', 'heartbeat p99 ms', 'event loop busy %', 'load worker % of a core', 'each stored once, all durable', 'online'], [
      row(`batched, answered once stored (baseline)`, stored),
      row(`batched, 202, a GET per batch (first 2026-12 agents)`, asked),
      ...(batchedOnly ? [] : [row('one POST per event, 202, mark carried', single)]),
      row(`batched (<= 1 POST / ${BATCH_EVERY_MS} ms), 202, mark carried (agents now)`, batched),
    ]);
    for (const r of batchedOnly ? [stored, asked, batched] : [stored, asked, single, batched]) if (r.out.errors.length) console.log(`  errors: ${r.out.errors.slice(0, 2).join('; ')}`);
    console.log(`  durable marks asked: ${asked.out.durableGets} with a GET per batch (${fmt(asked.out.durableGets / Math.max(1, asked.out.posts), 2)} per POST), ${batched.out.durableGets} with the mark carried (${fmt(batched.out.durableGets / Math.max(1, batched.out.posts), 2)} per POST)`);
    console.log(`reconnect storm (${ACTIVE} agents' first heartbeat at once, as after an HQ restart): all answered in ${fmt(stored.out.stormS, 2)} s / ${fmt(batched.out.stormS, 2)} s, p99 ${fmt(stored.out.stormP99, 0)} / ${fmt(batched.out.stormP99, 0)} ms`);
    const named: Array<[string, Run]> = [['batched, answered once stored', stored], ['batched, 202, a GET per batch', asked], ...(batchedOnly ? [] : [['one POST per event, 202, mark carried', single] as [string, Run]]), ['batched, 202, mark carried', batched]];
    for (const [name, r] of named) {
      r.prof.print(`where the server's time goes, ${target.name}, ${name}`);
      r.prof.printAgentView(r.out.eventTimes);
    }
    const rateOk = batched.prof.storedRate(batched.stored) >= 5000 * 0.95;
    const serverP99 = pct(batched.serverMs, 99);
    console.log(`goal (${target.name}): ingest p99 <= 20 ms at >= 5,000 events/s, 202 with the mark carried: server-side ${serverP99 <= 20 && rateOk ? 'met' : 'NOT met'} (${fmt(serverP99, 2)} ms at ${fmt(batched.prof.storedRate(batched.stored), 0)} stored/s); client-measured ${fmt(pct(batched.out.eventLat, 99), 2)} ms (baseline ${fmt(pct(stored.out.eventLat, 99), 2)} ms), after warm-up ${fmt(pct(batched.out.eventLatWarm, 99), 2)} ms; durable (client, send to mark) p99 ${fmt(pct(batched.out.durableLat, 99), 2)} ms`);
  }
  console.log('  (client times include the load worker sharing the CPUs; on a 2-CPU machine with other work they are upper bounds)');
  // The summary: each store as HQ runs it, agents answered 202 with the mark carried, beside the same store answering
  // once stored (the baseline) and answering 202 with a GET per batch.
  const summary = ingested.map((x) => {
    const p99 = pct(x.batched.serverMs, 99);
    const rate = x.batched.prof.storedRate(x.batched.stored);
    const b99 = pct(x.stored.serverMs, 99);
    const c99 = pct(x.batched.out.eventLat, 99);
    const cb99 = pct(x.stored.out.eventLat, 99);
    // The main thread's CPU per 1,000 events stored: what the event loop spends, less disturbed by the machine's load than latency.
    const cpuPerK = (r: Run) => (r.prof.threadCpuMs / Math.max(1, r.stored)) * 1000;
    const once = (r: Run) => r.stored === r.out.generated && r.out.acked === r.out.generated;
    return [
      x.target.label, fmt(x.stored.prof.storedRate(x.stored.stored), 0), fmt(rate, 0), fmt(b99, 2), fmt(pct(x.asked.serverMs, 99), 2), fmt(p99, 2), (p99 / b99).toFixed(3),
      fmt(cb99, 2), fmt(pct(x.asked.out.eventLat, 99), 2), fmt(c99, 2), (c99 / cb99).toFixed(3),
      fmt(pct(x.stored.out.durableLat, 99), 2), fmt(pct(x.batched.out.durableLat, 99), 2),
      fmt(cpuPerK(x.stored), 1), fmt(cpuPerK(x.asked), 1), fmt(cpuPerK(x.batched), 1), (cpuPerK(x.batched) / cpuPerK(x.stored)).toFixed(3),
      `${fmt(x.stored.prof.utilization * 100, 0)} / ${fmt(x.asked.prof.utilization * 100, 0)} / ${fmt(x.batched.prof.utilization * 100, 0)}`,
      once(x.stored) && once(x.asked) && once(x.batched) ? 'yes' : 'NO', p99 <= 20 && rate >= 5000 * 0.95 ? 'met' : 'NOT met',
    ];
  });
  if (summary.length) {
    console.log(`\ningest summary, batched agents (load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} now); baseline: the same store answering once stored; GET: 202 and a GET per batch; carried: 202, the mark in later answers (agents now):`);
    table(['store, callers', 'baseline stored/s', 'stored/s', 'baseline server p99 ms', 'GET server p99 ms', 'server p99 ms', 'ratio p99 / baseline', 'baseline client p99 ms', 'GET client p99 ms', 'client p99 ms', 'ratio client p99 / baseline', 'baseline durable p99 ms', 'durable p99 ms', 'baseline main-thread CPU ms / 1k', 'GET main-thread CPU ms / 1k', 'main-thread CPU ms / 1k', 'ratio CPU', 'event loop busy % (baseline / GET / carried)', 'each once', 'goal server p99 <= 20 ms at >= 5,000/s'], summary);
  }
  // Callers from memory beside a query per request, each store, agents as they ship now, in this process.
  for (const store of ['SQLite', 'PostgreSQL'] as const) {
    const direct = ingested.find((x) => x.target.store === store && x.target.lookupStats() === null && !x.target.label.includes('event loop'));
    const cached = ingested.find((x) => x.target.store === store && x.target.lookupStats() !== null);
    if (!direct || !cached) continue;
    const d = direct.batched;
    const c = cached.batched;
    const cpuPerK = (r: Run) => (r.prof.threadCpuMs / Math.max(1, r.stored)) * 1000;
    const pgShare = (r: Run) => (r.prof.pgMs / 1000 / r.prof.seconds) * 100;
    const line = (name: string, a: number, b: number, digits = 2) => `${name} ${fmt(a, digits)} / ${fmt(b, digits)} (${(a / b).toFixed(3)}x)`;
    console.log(`\n${store}, callers from memory / a query per request (agents now, 202 and the mark carried): ${[
      line('server p99 ms', pct(c.serverMs, 99), pct(d.serverMs, 99)),
      line('server p99 from the lookup\'s start ms', pct(c.prof.serverWithLookupMs(), 99), pct(d.prof.serverWithLookupMs(), 99)),
      line('client p99 ms', pct(c.out.eventLat, 99), pct(d.out.eventLat, 99)),
      line('stored/s', c.prof.storedRate(c.stored), d.prof.storedRate(d.stored), 0),
      line('main-thread CPU ms / 1k events', cpuPerK(c), cpuPerK(d), 1),
      ...(store === 'PostgreSQL' ? [line('PostgreSQL CPU % of a core', pgShare(c), pgShare(d), 0)] : []),
    ].join('; ')}`);
  }
  const batched = ingested[ingested.length - 1]?.batched;
  // BENCH_ONLY=ingest: the ingest alone (a CPU profile of it, --cpu-prof).
  if (process.env.BENCH_ONLY === 'ingest') {
    for (const t of targets) await t.close();
    pgServer?.destroy();
    reg.close();
    cleanup();
    return;
  }

  // ---- memory: the fleet's heartbeat history full (240 samples per heartbeating vehicle); not with BENCH_ONLY=query ----
  const fleet = batched?.fleet;
  const hbBase = Date.now();
  for (let k = 0; fleet && k < 240; k++) {
    for (let i = 0; i < ACTIVE; i++) {
      fleet.heartbeat(heartbeatSchema.parse({
        vehicle: vehicleName(i), at: new Date(hbBase + k * HEARTBEAT_MS).toISOString(), active: 'wlan0', site: 'depot',
        uplinks: ['wlan0', 'wlan1', 'wwan0'].map((name, j) => ({ name, kind: j < 2 ? 'wifi' : 'lte', state: 'ready', ready: true, signal: -60 - j * 10, rtt_ms: 12, loss: 0 })),
      }));
    }
  }
  global.gc?.();
  const mem = process.memoryUsage();
  if (fleet) console.log(`\nmemory with ${ACTIVE} vehicles' heartbeat history full (240 samples each): RSS ${mb(mem.rss)}, heap used ${mb(mem.heapUsed)}${global.gc ? '' : ' (run with --expose-gc for a settled heap)'}`);

  // ---- query: a 24 h log query for one vehicle among EVENTS stored events, each store ----
  const span = 30 * 86_400_000;
  let first = Date.now() - span;
  const pick = () => {
    const v = vehicleName(Math.floor(Math.random() * VEHICLES));
    const since = first + Math.random() * (span - 86_400_000);
    return { v, since, until: since + 86_400_000 };
  };
  const queryTable = async (name: string, store: EventStoreT, scanOnce: (q: ReturnType<typeof pick>) => Promise<void>) => {
    const idx: number[] = [];
    let rows = 0;
    for (let k = 0; k < 300; k++) {
      const q = pick();
      const s = performance.now();
      rows += (await store.query({ vehicle: q.v, sinceMs: q.since, untilMs: q.until })).length;
      idx.push(performance.now() - s);
    }
    const scan: number[] = [];
    for (let k = 0; k < 3; k++) {
      const q = pick();
      const s = performance.now();
      await scanOnce(q);
      scan.push(performance.now() - s);
    }
    table([`24 h query, one vehicle, ${name}`, 'runs', 'rows/query', 'median ms', 'p99 ms'], [
      ['(vehicle, at) index', String(idx.length), fmt(rows / idx.length), fmt(med(idx), 3), fmt(pct(idx, 99), 3)],
      ['full scan (no index)', String(scan.length), '', fmt(med(scan), 1), fmt(pct(scan, 99), 1)],
    ]);
    console.log(`ratio (index / scan), median: ${(med(idx) / med(scan)).toExponential(2)}`);
    return med(idx);
  };
  const detail = JSON.stringify({ why: 'wlan0 below -75 dBm for 1 s', candidates: [{ name: 'wlan0', phase: 'ready', ready: true, signal: -78, rtt_ms: 12, loss: 0, score: null }] });
  const queryMedians: string[] = [];
  if (only.includes('sqlite')) {
    // Generated once into a file under /tmp, kept for the next run: keyed by the switch log's schema version, the
    // number of events and of vehicles (10 M rows take minutes on this machine).
    const { EVENTS_MIGRATIONS } = await import('../concentrator/store/events/schema.js');
    const version = EVENTS_MIGRATIONS[EVENTS_MIGRATIONS.length - 1]!.version;
    const cached = join(tmpdir(), `roamlink-bench-hq-query-v${version}-${EVENTS}-${VEHICLES}.sqlite`);
    let qDb = existsSync(cached) ? openEventsDb(cached, { synchronous: 'OFF' }) : null;
    const complete = qDb && (qDb.prepare("SELECT value FROM bench_meta WHERE key = 'complete'").pluck().get() as string | undefined) === 'yes';
    if (qDb && complete) {
      first = qDb.prepare('SELECT MIN(at) FROM switch_events').pluck().get() as number;
      console.log(`\nquery on SQLite: ${EVENTS.toLocaleString('en')} events over 30 days for ${VEHICLES} vehicles, generated by an earlier run (${cached})`);
    } else {
      qDb?.close();
      rmSync(cached, { force: true });
      rmSync(`${cached}-wal`, { force: true });
      rmSync(`${cached}-shm`, { force: true });
      console.log(`\nquery on SQLite: generating ${EVENTS.toLocaleString('en')} events over 30 days for ${VEHICLES} vehicles (bulk insert, indexes built after) into ${cached}, kept for later runs...`);
      qDb = openEventsDb(cached, { synchronous: 'OFF' });
      const t0 = performance.now();
      qDb.exec("CREATE TABLE bench_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); DROP INDEX switch_events_vehicle_at; DROP INDEX switch_events_at; DROP INDEX switch_events_received_at; DROP INDEX switch_events_vehicle_seq;");
      const qIns = qDb.prepare('INSERT INTO switch_events (id, vehicle, seq, at, from_uplink, to_uplink, reason, site, ms_to_first_packet, gap_ms, detail, received_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)');
      const id = Buffer.alloc(16);
      id.writeUInt32BE(0x4000_0000, 4);
      const bulk = qDb.transaction((from: number, to: number) => {
        for (let n = from; n < to; n++) {
          id.writeUInt32BE(Math.floor(n / 2 ** 32), 8);
          id.writeUInt32BE(n >>> 0, 12);
          const at = Math.floor(first + (n / EVENTS) * span);
          qIns.run(id, vehicleName(n % VEHICLES), Math.floor(n / VEHICLES) + 1, at, 'wlan0', 'wlan1', 'signal', 'depot', 4.2, null, detail, at + 40);
        }
      });
      for (let n = 0; n < EVENTS; n += 200_000) bulk(n, Math.min(EVENTS, n + 200_000));
      const t1 = performance.now();
      qDb.exec('CREATE INDEX switch_events_vehicle_at ON switch_events(vehicle, at); CREATE INDEX switch_events_at ON switch_events(at); CREATE INDEX switch_events_received_at ON switch_events(received_at); CREATE INDEX switch_events_vehicle_seq ON switch_events(vehicle, seq); ANALYZE;');
      qDb.exec("INSERT INTO bench_meta VALUES ('complete', 'yes')");
      const t2 = performance.now();
      console.log(`  generated in ${fmt((t1 - t0) / 1000)} s, indexes in ${fmt((t2 - t1) / 1000)} s`);
    }
    const real = pick();
    const plan = (qDb.prepare('EXPLAIN QUERY PLAN SELECT * FROM switch_events WHERE vehicle = ? AND at >= ? AND at <= ? ORDER BY seq ASC, at ASC, log_id ASC').all(real.v, Math.floor(real.since), Math.floor(real.until)) as Array<{ detail: string }>).map((r) => r.detail).join('; ');
    console.log(`  the log query's plan (${real.v}, ${new Date(real.since).toISOString()} + 24 h): ${plan}`);
    const scanStmt = qDb.prepare('SELECT * FROM switch_events NOT INDEXED WHERE vehicle = ? AND at >= ? AND at <= ? ORDER BY at');
    const m = await queryTable('SQLite', new EventStore(qDb), async (q) => void scanStmt.all(q.v, q.since, q.until));
    queryMedians.push(`SQLite ${fmt(m, 3)} ms`);
    qDb.close();
  }
  if (pgServer) {
    const { openPostgres } = await import('../concentrator/store/postgres.js');
    const { sql } = await import('kysely');
    console.log(`\nquery on PostgreSQL: generating ${EVENTS.toLocaleString('en')} events over 30 days for ${VEHICLES} vehicles (INSERT ... SELECT generate_series in the server, indexes built after)...`);
    const q = await openPostgres(await pgServer.createDatabase('query'));
    const t0 = performance.now();
    await sql`DROP INDEX switch_events_vehicle_at, switch_events_at, switch_events_received_at, switch_events_vehicle_seq`.execute(q.db);
    await sql`ALTER TABLE switch_events DROP CONSTRAINT switch_events_vehicle_id_key`.execute(q.db);
    // The same rows as SQLite's: id from n, vehicle n % VEHICLES, seq, at spread over 30 days, received 40 ms later.
    const step = 1_000_000;
    for (let n = 0; n < EVENTS; n += step) {
      await sql`INSERT INTO switch_events (id, vehicle, seq, at, from_uplink, to_uplink, reason, site, ms_to_first_packet, gap_ms, detail, received_at)
        SELECT decode(lpad(to_hex(n), 32, '0'), 'hex'), 'v' || (n % ${VEHICLES}), n / ${VEHICLES} + 1,
               ${first}::bigint + floor(n::float8 / ${EVENTS} * ${span})::bigint, 'wlan0', 'wlan1', 'signal', 'depot', 4.2, NULL, ${detail},
               ${first}::bigint + floor(n::float8 / ${EVENTS} * ${span})::bigint + 40
        FROM generate_series(${n}::bigint, ${Math.min(EVENTS, n + step) - 1}::bigint) AS n`.execute(q.db);
    }
    const t1 = performance.now();
    await sql`ALTER TABLE switch_events ADD CONSTRAINT switch_events_vehicle_id_key UNIQUE (vehicle, id)`.execute(q.db);
    await sql`CREATE INDEX switch_events_vehicle_at ON switch_events(vehicle, at)`.execute(q.db);
    await sql`CREATE INDEX switch_events_at ON switch_events(at)`.execute(q.db);
    await sql`CREATE INDEX switch_events_received_at ON switch_events(received_at)`.execute(q.db);
    await sql`CREATE INDEX switch_events_vehicle_seq ON switch_events(vehicle, seq)`.execute(q.db);
    await sql`ANALYZE switch_events`.execute(q.db);
    const t2 = performance.now();
    console.log(`  generated in ${fmt((t1 - t0) / 1000)} s, constraint and indexes in ${fmt((t2 - t1) / 1000)} s (generated anew each run: in the server, no file to keep)`);
    // The plan of a real query: a vehicle that has events, a 24 h window inside the data, the SQL EventStore.query sends.
    const real = pick();
    const plan = (await sql<{ 'QUERY PLAN': string }>`EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM switch_events WHERE vehicle = ${real.v} AND at >= ${Math.floor(real.since)} AND at <= ${Math.floor(real.until)} ORDER BY seq ASC, at ASC, log_id ASC`.execute(q.db)).rows.map((r) => `    ${r['QUERY PLAN']}`).join('\n');
    console.log(`  the log query's plan (EXPLAIN ANALYZE, ${real.v}, ${new Date(real.since).toISOString()} + 24 h):\n${plan}`);
    const m = await queryTable('PostgreSQL', new EventStore(q), async (x) => {
      await q.db.transaction().execute(async (trx) => {
        await sql`SET LOCAL enable_indexscan = off`.execute(trx);
        await sql`SET LOCAL enable_bitmapscan = off`.execute(trx);
        await sql`SELECT * FROM switch_events WHERE vehicle = ${x.v} AND at >= ${Math.floor(x.since)} AND at <= ${Math.floor(x.until)} ORDER BY at`.execute(trx);
      });
    });
    queryMedians.push(`PostgreSQL ${fmt(m, 3)} ms`);
    await q.close();
  }
  console.log(`24 h query among ${(EVENTS / 1e6).toFixed(1)} M events, median: ${queryMedians.join(', ')}`);

  // ---- cold start, the stores' part: open (migrations checked) and read the registry and fleet state, each store ----
  for (const t of targets) if (!t.baseline) console.log(`\ncold start, ${t.name}: ${await t.coldOpen()}`);
  for (const t of targets) await t.close();
  pgServer?.destroy();

  await coldPart(reg, dir);
  reg.close();
  cleanup();
}

async function coldPart(reg: import('../concentrator/store/db.js').Db, dir: string): Promise<void> {
  if (!COLD) console.log('\ncold start: skipped (BENCH_COLD=0)');
  else if (process.getuid?.() !== 0) console.log('\ncold start: skipped (needs root: a network namespace and wireguard-go)');
  else await coldStart(reg, dir);
}

async function coldStart(reg: import('../concentrator/store/db.js').Db, dir: string): Promise<void> {
  const { run } = await import('../shared/exec.js');
  const { createWg } = await import('../shared/wg.js');
  const { createRoutes, ROUTE_PROTO } = await import('../concentrator/routes.js');
  const { Reconciler } = await import('../concentrator/reconcile/reconciler.js');
  const { desiredFromVehicles } = await import('../concentrator/reconcile/diff.js');
  const { createLogger } = await import('../shared/log.js');
  const { toVehicle } = await import('../concentrator/store/vehicles/schema.js');
  type VehicleRow = import('../concentrator/store/vehicles/schema.js').VehicleRow;

  const ns = `rlb-hq-${process.pid}`;
  const ifname = `rlb${process.pid % 100000}`;
  const wg = createWg();
  const opts = { netns: ns };
  const all = (reg.prepare('SELECT * FROM vehicles ORDER BY id').all() as VehicleRow[]).map(toVehicle);
  const log = createLogger({ name: 'bench', level: 'silent' });
  const fresh = async () => {
    await wg.deleteInterface(ifname, opts).catch(() => {});
    await wg.createInterface(ifname, { ...opts, implementation: 'auto' });
    await wg.setPrivateKey(ifname, await wg.genKey(), opts);
    await run(['ip', '-n', ns, 'link', 'set', ifname, 'up']);
  };
  const counts = async () => {
    const peers = (await wg.show(ifname, opts)).peers.length;
    const routes = (await run(['ip', '-n', ns, 'route', 'show', 'dev', ifname, 'proto', String(ROUTE_PROTO)])).stdout.trim().split('\n').filter(Boolean).length;
    return { peers, routes };
  };
  console.log(`\ncold start in namespace ${ns} (${ifname}, ${os.cpus().length} CPUs, load average ${os.loadavg()[0]!.toFixed(1)} before):`);
  await run(['ip', 'netns', 'add', ns]);
  try {
    // The reconciler as the daemon runs it: its first pass, batched (one `wg addconf`, one `ip -batch` per 2,000
    // routes), the state read back, nothing left for one at a time. From a fresh interface each run.
    const desired = desiredFromVehicles(all);
    const runs: number[] = [];
    let c0 = { peers: 0, routes: 0 };
    let r0: Awaited<ReturnType<InstanceType<typeof Reconciler>['reconcile']>> | null = null;
    for (let k = 0; k < COLD_RUNS; k++) {
      await fresh();
      const rec = new Reconciler({ ifname, netns: ns, wg, routes: createRoutes(), log, desired: () => desired });
      const s = performance.now();
      r0 = await rec.reconcile();
      runs.push(performance.now() - s);
      c0 = await counts();
      if (!r0.ok || c0.peers !== all.length || c0.routes !== all.length) break;
    }
    const batchedMs = med(runs);

    // One change at a time (as every pass did before batches; now only small passes): a first, empty pass, then the
    // sample, with batching off.
    const sample = all.slice(0, Math.min(COLD_SAMPLE, all.length));
    await fresh();
    let registry: typeof all = [];
    const rec = new Reconciler({ ifname, netns: ns, wg, routes: createRoutes(), log, desired: () => desiredFromVehicles(registry), batchThreshold: Infinity });
    await rec.reconcile();
    registry = sample;
    let s = performance.now();
    const r = await rec.reconcile();
    const recMs = performance.now() - s;
    const c1 = await counts();

    // The floor: every peer in one bare `wg addconf`, every route in one `ip -batch`, nothing read back.
    await fresh();
    const conf = join(dir, 'peers.conf');
    const batch = join(dir, 'routes.batch');
    s = performance.now();
    writeFileSync(conf, desired.peers.map((p) => `[Peer]\nPublicKey = ${p.publicKey}\nAllowedIPs = ${p.allowedIps.join(', ')}\n`).join('\n'), { mode: 0o600 });
    writeFileSync(batch, desired.routes.map((d) => `route replace ${d} dev ${ifname} proto ${ROUTE_PROTO}\n`).join(''));
    await run(['wg', 'addconf', ifname, conf], { netns: ns });
    await run(['ip', '-n', ns, '-batch', batch]);
    const batchMs = performance.now() - s;
    const c2 = await counts();
    const perChange = recMs / Math.max(1, r.changes.length);
    const extrapolated = perChange * (all.length * 2);
    table(['programming', 'peers', 'routes', 'measured s', `for ${all.length} peers s`], [
      [`reconciler, first pass batched (median of ${runs.length}: ${runs.map((x) => fmt(x / 1000, 2)).join(' / ')})`, String(c0.peers), String(c0.routes), fmt(batchedMs / 1000, 2), fmt(batchedMs / 1000, 2)],
      [`reconciler, one change at a time (${sample.length} sampled)`, String(c1.peers), String(c1.routes), fmt(recMs / 1000, 2), `${fmt(extrapolated / 1000, 1)} (extrapolated)`],
      ['bare: one wg addconf + one ip -batch', String(c2.peers), String(c2.routes), fmt(batchMs / 1000, 2), fmt(batchMs / 1000, 2)],
    ]);
    if (r0 && !r0.ok) console.log(`  the batched pass reported failures: ${r0.error ?? r0.changes.filter((c) => !c.ok).slice(0, 3).map((c) => c.error).join('; ')}`);
    console.log(`  batched pass: ${r0?.changes.filter((c) => c.batched).length ?? 0} of ${r0?.changes.length ?? 0} changes through the batch`);
    console.log(`ratio (reconciler batched / one at a time, ${all.length} peers): ${(batchedMs / extrapolated).toFixed(3)}x; batched / bare: ${(batchedMs / batchMs).toFixed(2)}x`);
    const programmedAll = c0.peers === all.length && c0.routes === all.length;
    console.log(`goal: cold start of ${all.length} peers and routes <= 10 s: reconciler ${batchedMs <= 10_000 && programmedAll ? 'met' : 'NOT met'} (${fmt(batchedMs / 1000, 2)} s), one at a time ${extrapolated <= 10_000 ? 'met' : 'NOT met'}`);
  } finally {
    await wg.deleteInterface(ifname, opts).catch(() => {});
    await run(['ip', 'netns', 'del', ns], { allowFail: true });
  }
}

if (isMainThread) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
