// bench/hq-coldstart: the concentrator's cold start at fleet scale, as an operator sees it: `roamlink hq` spawned in a
// network namespace with 10,000 registered vehicles and no interface, until every peer and route is programmed; on
// SQLite and on PostgreSQL (a private server, fsync on), beside the floor measured the same way in the same run (one bare
// `wg addconf` + one `ip -batch` of the same peers and routes, nothing else).
//
//   rlb-hqc-PID  (roamlink hq)
//   wg rlbc<PID> 10.96.0.1/18   10,000 peers (10.96.x.y/32 + 10.x.y.0/24 each), 10,000 routes proto 82
//
// Needs root (a namespace, WireGuard). Run it under the lab lock (timings are disturbed by load):
//   flock /tmp/roamlink-lab.lock node dist/bench/hq-coldstart.js
// Knobs: BENCH_VEHICLES (10000), BENCH_COLD_RUNS (3), BENCH_STORES=sqlite,postgres.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const env = (k: string, d: number) => (process.env[k] !== undefined ? Number(process.env[k]) : d);
const VEHICLES = env('BENCH_VEHICLES', 10_000);
const RUNS = env('BENCH_COLD_RUNS', 3);
const STORES = (process.env.BENCH_STORES ?? 'sqlite,postgres').split(',');
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NS = `rlb-hqc-${process.pid}`;
const IF = `rlbc${process.pid % 100000}`;
/** How often the programmed state is read while waiting (each read lists 10,000 peers: not free on 2 CPUs). */
const POLL_MS = 200;
const BOUND_MS = 120_000;

const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const fmt = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '-');

/** The i-th vehicle: its key, tunnel address and subnet (10.96.0.0/18 holds 16,382 addresses). */
function vehicle(i: number) {
  const key = Buffer.alloc(32);
  key.writeUInt32BE(i + 1, 0);
  const n = i + 2;
  return { name: `v${i}`, public_key: key.toString('base64'), tunnel_address: `10.96.${n >> 8}.${n & 255}`, subnet: `10.${100 + (i >> 8)}.${i & 255}.0/24` };
}

function table(header: string[], rows: string[][]): void {
  const all = [header, ...rows];
  const w = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  for (const r of all) console.log(r.map((c, i) => c.padEnd(w[i]!)).join('  '));
}

function exited(p: ChildProcess, ms: number): Promise<number | null | 'timeout'> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve(p.exitCode);
  return Promise.race([new Promise<number | null>((r) => p.once('exit', (code) => r(code))), sleep(ms, 'timeout' as const, { ref: false })]);
}

async function main() {
  if (process.getuid?.() !== 0) {
    console.log('bench/hq-coldstart: skipped (needs root: a network namespace and WireGuard)');
    return;
  }
  const { run } = await import('../shared/exec.js');
  const { createWg, wireguardGoSocket } = await import('../shared/wg.js');
  const { killNetnsPids } = await import('../lab/topology.js');
  const { openDb } = await import('../concentrator/store/db.js');
  const { ROUTE_PROTO } = await import('../concentrator/routes.js');
  const wg = createWg();
  const dir = mkdtempSync(join(tmpdir(), 'rlb-hqc-'));
  let pg: import('../lab/postgres.js').TestPostgres | null = null;
  let daemon: ChildProcess | null = null;
  const all = Array.from({ length: VEHICLES }, (_, i) => vehicle(i));
  const created = new Date().toISOString();

  const counts = async () => {
    const [w, r] = await Promise.all([
      run(['wg', 'show', IF, 'peers'], { netns: NS, allowFail: true }),
      run(['ip', 'route', 'show', 'dev', IF, 'proto', String(ROUTE_PROTO)], { netns: NS, allowFail: true }),
    ]);
    const lines = (s: string) => s.split('\n').filter(Boolean).length;
    return { peers: lines(w.stdout), routes: lines(r.stdout) };
  };
  const gone = async () => {
    await wg.deleteInterface(IF, { netns: NS }).catch(() => {});
    rmSync(wireguardGoSocket(IF), { force: true });
  };

  console.log(`bench/hq-coldstart: ${VEHICLES} registered vehicles, the daemon from spawn to every peer and route programmed; ${os.cpus().length} CPUs, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  await run(['ip', 'netns', 'add', NS]);
  try {
    await run(['ip', '-n', NS, 'link', 'set', 'dev', 'lo', 'up']);
    writeFileSync(join(dir, 'hq.key'), `${await wg.genKey()}\n`, { mode: 0o600 });
    const rows: string[][] = [];

    // The floor: a fresh interface, every peer in one `wg addconf`, every route in one `ip -batch`.
    const floor: number[] = [];
    for (let k = 0; k < RUNS; k++) {
      await gone();
      await wg.createInterface(IF, { netns: NS, implementation: 'auto' });
      await run(['ip', '-n', NS, 'link', 'set', IF, 'up']);
      const conf = join(dir, 'peers.conf');
      const batch = join(dir, 'routes.batch');
      const s = performance.now();
      writeFileSync(conf, all.map((v) => `[Peer]\nPublicKey = ${v.public_key}\nAllowedIPs = ${v.tunnel_address}/32, ${v.subnet}\n`).join('\n'), { mode: 0o600 });
      writeFileSync(batch, all.map((v) => `route replace ${v.subnet} dev ${IF} proto ${ROUTE_PROTO}\n`).join(''));
      await run(['wg', 'addconf', IF, conf], { netns: NS });
      await run(['ip', '-n', NS, '-batch', batch]);
      floor.push(performance.now() - s);
      const c = await counts();
      if (c.peers !== VEHICLES || c.routes !== VEHICLES) throw new Error(`the floor programmed ${c.peers} peers and ${c.routes} routes, not ${VEHICLES}`);
    }
    await gone();
    rows.push(['floor: one wg addconf + one ip -batch', floor.map((x) => fmt(x / 1000)).join(' / '), fmt(med(floor) / 1000), '1.00', '']);

    for (const store of STORES) {
      let database: string | undefined;
      const stateDir = join(dir, `state-${store}`);
      if (store === 'postgres') {
        const { startTestPostgres, postgresBin } = await import('../lab/postgres.js');
        if (!postgresBin()) {
          console.log('PostgreSQL: skipped (not installed: ROAMLINK_SETUP_TESTS=1 bash deploy/setup.sh)');
          continue;
        }
        pg = startTestPostgres({ durable: true, onSignals: true });
        database = await pg.createDatabase('coldstart');
        const { openPostgres } = await import('../concentrator/store/postgres.js');
        const { sql } = await import('kysely');
        const s = await openPostgres(database, { max: 1 });
        for (let i = 0; i < all.length; i += 1000) {
          await sql`INSERT INTO vehicles (name, public_key, tunnel_address, subnet, site, created_at) VALUES ${sql.join(all.slice(i, i + 1000).map((v) => sql`(${v.name}, ${v.public_key}, ${v.tunnel_address}, ${v.subnet}, NULL, ${created})`))}`.execute(s.db);
        }
        await s.close();
      } else if (store === 'sqlite') {
        // The registry in one transaction (the service's per-add checks are O(n); not what is measured).
        const reg = openDb(join(stateDir, 'registry.sqlite'));
        const ins = reg.prepare('INSERT INTO vehicles (name, public_key, tunnel_address, subnet, site, created_at) VALUES (?, ?, ?, ?, NULL, ?)');
        reg.transaction(() => all.forEach((v) => ins.run(v.name, v.public_key, v.tunnel_address, v.subnet, created)))();
        reg.close();
      } else throw new Error(`BENCH_STORES: "${store}" is not sqlite or postgres`);
      const config = join(dir, `hq-${store}.yaml`);
      writeFileSync(config, [`interface: ${IF}`, `private_key_file: ${join(dir, 'hq.key')}`, 'tunnel_network: 10.96.0.0/18', `state_dir: ${stateDir}`,
        `control_socket: ${join(dir, `hq-${store}.sock`)}`, 'log_level: info', ...(database ? [`database: "${database}"`] : []), ''].join('\n'));

      const times: number[] = [];
      let api = '';
      for (let k = 0; k < RUNS; k++) {
        await gone();
        let log = '';
        const s = performance.now();
        daemon = spawn('ip', ['netns', 'exec', NS, process.execPath, join(ROOT, 'bin/roamlink'), 'hq', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
        daemon.stdout!.on('data', (c: Buffer) => (log += c));
        daemon.stderr!.on('data', (c: Buffer) => (log += c));
        let c = { peers: 0, routes: 0 };
        while (performance.now() - s < BOUND_MS) {
          if (daemon.exitCode !== null) throw new Error(`roamlink hq exited ${daemon.exitCode}:\n${log.split('\n').slice(-20).join('\n')}`);
          c = await counts();
          if (c.peers === VEHICLES && c.routes === VEHICLES) break;
          await sleep(POLL_MS);
        }
        const ms = performance.now() - s;
        if (c.peers !== VEHICLES || c.routes !== VEHICLES) throw new Error(`after ${BOUND_MS / 1000} s: ${c.peers} peers and ${c.routes} routes of ${VEHICLES}`);
        times.push(ms);
        const line = log.split('\n').find((l) => l.includes('agents\' API answering'));
        if (line) api = `${fmt((JSON.parse(line) as { ms: number }).ms / 1000)} s`;
        // A stop for good (SIGUSR2): the interface, its peers and the probe echo go too.
        daemon.kill('SIGUSR2');
        if ((await exited(daemon, 30_000)) === 'timeout') daemon.kill('SIGKILL');
        daemon = null;
        await killNetnsPids(NS);
      }
      rows.push([`roamlink hq on ${store === 'postgres' ? 'PostgreSQL' : 'SQLite'} (agents' API answering at ${api || '?'}, last run)`, times.map((x) => fmt(x / 1000)).join(' / '), fmt(med(times) / 1000), (med(times) / med(floor)).toFixed(2), med(times) <= 10_000 ? 'met' : 'NOT met']);
      pg?.destroy();
      pg = null;
    }
    console.log(`\ncold start of ${VEHICLES} peers and routes, from spawning the daemon to all programmed (polled every ${POLL_MS} ms; ${RUNS} runs each):`);
    table(['', 's, each run', 'median s', 'ratio to the floor', 'goal <= 10 s'], rows);
    console.log(`load average after: ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  } finally {
    if (daemon && daemon.exitCode === null) daemon.kill('SIGKILL');
    await gone();
    await killNetnsPids(NS);
    await run(['ip', 'netns', 'del', NS], { allowFail: true });
    pg?.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
