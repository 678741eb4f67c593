// Runs one scenario in the lab: builds the network, starts the concentrator and the agent, drives traffic, signals
// and faults on the scenario's clock, and reports what was measured (design.md §2's report format).
import { appendFile, cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../shared/exec.js';
import { parseCopyCounters } from '../agent/drivers/nft/steer.js';
import { evaluateExpect, uplinkTime, type Report, type ReportLink } from '../shared/report.js';
import { signalAt, type Fault, type Scenario } from '../shared/scenario.js';
import { IDEAL_LINK, linkAt, type LinkTimeline } from '../shared/link.js';
import { createWg } from '../shared/wg.js';
import { stopEcho } from '../concentrator/echo.js';
import { analyze, type SwitchIn } from './meter/analyze.js';
import { indexDirection, outageAfter } from './meter/outage.js';
import { startMeter } from './meter/meter.process.js';
import { nowMs } from './meter/meter.js';
import { Proc } from './procs.js';
import { PLAN, Topology, type UplinkName } from './topology.js';
import { LabRadios } from './radios.js';
import { LabLte } from './lte.js';
import { exportLabDrive, exportHqDrive } from './drive.js';
import { AGENT_NODE_FLAGS, labAgentNodeArgs } from '../shared/runtime.js';
import { startTestPostgres, type TestPostgres } from './postgres.js';
import { keepalivedArgv, keepalivedConf } from './keepalived.js';
import { loadHqConfig } from '../shared/config/hq.js';
import { openEventLog } from '../concentrator/store/stores.js';
import { jsonLine } from '../cli/log.js';
import { agentRequest } from '../cli/agent.js';

const ROAMLINK = fileURLToPath(new URL('../../bin/roamlink', import.meta.url));
const APP_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * A copy of this build in `to` (dist/, bin/, package.json; node_modules linked), as an upgrade installs a new build
 * beside the old one: a restart fault with `upgrade` starts the new process from it. Returns its `roamlink`.
 */
export async function copyBuild(to: string): Promise<string> {
  await mkdir(to, { recursive: true });
  for (const part of ['dist', 'bin', 'package.json']) await cp(join(APP_ROOT, part), join(to, part), { recursive: true });
  await symlink(join(APP_ROOT, 'node_modules'), join(to, 'node_modules'));
  return join(to, 'bin', 'roamlink');
}
const UPLINKS: UplinkName[] = ['wlan0', 'wlan1', 'wwan0'];
const METER_PORT = 40000;
/**
 * How far ahead of the traffic's start the listening meters are told it (on stdin). They answer at once: the time
 * from writing it to both answers was 2-43 ms, median 4.5, at load 3-13 (2026-12-03, phase 'meters-told', 40 runs);
 * 300 ms leaves room for a stall seven times the longest. Told late, a meter still starts (catching up, at most maxBurst a tick).
 */
const METER_LEAD_MS = 300;

/** What the lab tells whoever watches a run (the demo prints it live). */
export type LabEvent =
  | { type: 'phase'; text: string }
  | { type: 'switch'; tMs: number; from: string | null; to: string; reason: string; msToFirstPacket: number | null; why?: string | null }
  | { type: 'fault'; tMs: number; text: string }
  | { type: 'uplink'; tMs: number; uplink: string; phase: string; address: string | null };

export interface RunOptions {
  onEvent?: (ev: LabEvent) => void;
  /** Aborts the run (Ctrl-C): everything is torn down and the promise rejects. */
  signal?: AbortSignal;
  /** Keep the agent's log lines (for debugging a failed run). */
  agentLog?: string[];
  /** Told the agent's pid each time it starts (bench/agent samples its CPU and memory). */
  onAgent?: (pid: number | undefined) => void;
  /** Node's flags for the agent: default the unit's (AGENT_NODE_FLAGS); bench/agent compares them with Node's defaults ([]). */
  agentNodeFlags?: readonly string[];
  /**
   * A concentrator restart is a reboot of HQ's machine: the daemon is killed and its WireGuard interface deleted (as
   * a reboot loses it) before it starts again. For tests; scenarios say graceful or kill.
   */
  hqReboot?: boolean;
  /** Called once the traffic clock has started (scenario time 0), with its epoch ms. */
  onClockStart?: (t0: number) => void;
  /**
   * Runs once the traffic has started, with a way to run `roamlink …` at HQ (as an operator there would) and the
   * scenario clock; the run's results wait for it. For tests that act at HQ mid-run (site profiles).
   */
  /** Write the vehicle's recorded drive here (agent/drive/), its origin the scenario's time 0. */
  drive?: string;
  /** Write the vehicle's drive as HQ stored it (shipped inside the tunnel, `roamlink drive export`), over the
   *  scenario's clock: waits, bounded, for the agent to ship up to the run's end. */
  hqDrive?: string;
  /**
   * The vehicle enrolls as an installer enrolls one (issue 15): HQ listens for enrollments (enroll_listen on its WAN,
   * HTTPS with this pair, the port open only from AP 0's NAT address), `roamlink vehicle add` prints a one-time code,
   * and `roamlink enroll CODE --hq HOST --pin SHA256` runs in the vehicle's namespace over the depot's Wi-Fi (wlan0 on
   * AP 0, an address of its own, before the agent starts and after it is undone): it makes the vehicle's key there and
   * writes the agent config the agent then runs with. Without it, the lab registers a key it made (`--pubkey`).
   */
  enrollByCode?: { cert: string; key: string };
  /** Runs once the tunnel carries traffic, before the traffic's clock starts; the traffic waits for it (a bench's
   *  baseline set up in the vehicle's namespace, e.g. bench/handover's duplicate-everything). */
  beforeTraffic?: (ctx: { topo: Topology }) => Promise<void>;
  during?: (ctx: { hq: (args: string[]) => Promise<{ exitCode: number; stdout: string; stderr: string }>; tNow: () => number; topo: Topology; agent: LabAgentHandle }) => Promise<void>;
}

/** The vehicle's side for `during`: the agent's config file (JSON, which YAML reads), a signal to the running agent,
 *  and `roamlink …` run in the vehicle's namespace (with `--socket` where a command needs the control socket). */
export interface LabAgentHandle {
  config: string;
  socket: string;
  signal(sig: NodeJS.Signals): void;
  running(): boolean;
  vehicle(args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }>;
}

/** A fault as the lab applied it (times on the scenario's clock). */
export interface AppliedFault {
  kind: Fault['kind'];
  /** A restart's target and mode; an upgrade's build (the roamlink the new process ran). */
  target?: string;
  mode?: string;
  upgrade?: boolean;
  build?: string;
  /** When the scenario asked for it, and when the lab started applying it (the outage counts from then). */
  at_ms: number;
  applied_ms: number;
  uplinks: string[];
  /** The uplink carrying the tunnel when the fault hit. */
  active: string | null;
  /** A concentrator restart: when the new daemon said it was ready (scenario clock); its mode may also be reboot (RunOptions.hqReboot).
   *  A power-off: when the machine's daemon was ready again after its power came back. */
  ready_ms?: number | null;
  /** A power-off: the agent's move of the tunnel to the other HQ (its `hq.failover` line), or null when it made none. */
  hq_failover?: { at_ms: number; from: string; to: string; silent_ms: number } | null;
}

interface AgentSwitchLine {
  event: 'switch';
  id: string;
  from: string | null;
  to: string;
  reason: string;
  decided_at: number;
  steered_at: number;
  confirmed_at: number | null;
  ms_to_first_packet: number | null;
  why?: { text?: string };
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

// The meters' clock (lab/meter/meter.ts): fault times and the meters' start are on one time line.
const wall = nowMs;

/** Deep merge of plain objects: the scenario's `agent` section over the lab's agent config. */
export function mergeConfig(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = b && v && typeof b === 'object' && typeof v === 'object' && !Array.isArray(b) && !Array.isArray(v)
      ? mergeConfig(b as Record<string, unknown>, v as Record<string, unknown>)
      : v;
  }
  return out;
}

export async function runScenario(sc: Scenario, opts: RunOptions = {}): Promise<Report> {
  const say = (ev: LabEvent) => opts.onEvent?.(ev);
  // Where a run's wall time goes (ms per phase, in order): set-up until the traffic clock starts, the run, tear-down.
  const phases: Array<[string, number]> = [];
  let phaseAt = performance.now();
  const phase = (name: string) => {
    const now = performance.now();
    phases.push([name, Math.round(now - phaseAt)]);
    phaseAt = now;
  };
  const dir = await mkdtemp(join(tmpdir(), 'roamlink-lab-'));
  const aps = sc.aps.map((ap, i) => ({ ssid: ap.ssid, bssid: ap.bssid ?? `02:00:00:00:00:${(i + 1).toString(16).padStart(2, '0')}` }));
  // The links that run through the emulator: those the scenario gives a `link` (the others are plain wires).
  const linkSpecs = labLinks(sc);
  const hqPlan = sc.hq ?? { replicas: 1 as const, store: 'sqlite' as const };
  const twoHqs = hqPlan.replicas === 2;
  const topo = new Topology(aps, dir, { aps: sc.aps.map((ap) => ap.link !== undefined), lte: sc.lte?.link !== undefined }, hqPlan.replicas);
  let pg: TestPostgres | null = null;
  /** The agent's moves between HQs (its `hq.failover` lines): wall ms, from, to, how long the old one was silent. */
  const hqMoves: Array<{ at: number; from: string; to: string; silent_ms: number }> = [];
  const linkSteps = new Map<string, ReportLink['steps']>();
  const wg = createWg();
  let driveError: Error | null = null;
  let t0 = Infinity; // wall ms of the scenario's time 0 (traffic start)
  const tNow = () => wall() - t0;
  const switches: AgentSwitchLine[] = [];
  /** The agent's redundancy changes (its log lines): when (wall ms) copies began through `via`, or ended (null). */
  const copies: Array<{ at: number; via: string | null }> = [];
  let agent: Proc | null = null;
  let hq: Proc | null = null;
  let radios: LabRadios | null = null;
  let lte: LabLte | null = null;
  let initialSeen: ((s: AgentSwitchLine) => void) | null = null;
  const readyUplinks = new Set<string>();
  const recentAgent: string[] = [];
  const agentTail = () => (recentAgent.length ? `; the agent's last lines:\n${recentAgent.join('\n')}` : '');
  const timers: NodeJS.Timeout[] = [];
  // What the kernel and WireGuard hold on both ends, for an error that says why the tunnel carries nothing.
  const tunnelDiagnosis = async () => {
    const show = async (ns: string, argv: string[]) => {
      const r = await run(argv, { netns: ns, allowFail: true });
      return `\n$ ip netns exec ${ns} ${argv.join(' ')}\n${(r.stdout + r.stderr).trim()}`;
    };
    return [
      await show(topo.ns.veh, ['wg', 'show', topo.wg.veh]),
      await show(topo.ns.hq, ['wg', 'show', topo.wg.hq]),
      await show(topo.ns.veh, ['ip', 'rule']),
      await show(topo.ns.veh, ['ip', 'route', 'show', 'table', 'all']),
      await show(topo.ns.veh, ['nft', 'list', 'ruleset']),
      await show(topo.ns.hq, ['ip', '-s', 'link']),
      await show(topo.ns.hq, ['ss', '-uanp']),
      await show(topo.ns.hq, ['nft', 'list', 'ruleset']),
      await show(topo.ns.veh, ['ss', '-uanp']),
      ...(await Promise.all([...topo.ns.ap, topo.ns.lte].map((ns) => show(ns, ['nft', 'list', 'table', 'inet', 'lab_watch'])))),
    ].join('');
  };
  let active: string | null = null;

  try {
    say({ type: 'phase', text: `building the lab (${topo.id}): ${aps.length} access points, LTE carrier, HQ` });
    // An abort (Ctrl-C) tears the lab down at once: that stops every process in it, the meters too.
    opts.signal?.addEventListener('abort', () => void topo.down(), { once: true });
    opts.signal?.throwIfAborted();
    // HQ's registry is made beside the network (neither needs the other): its key, its store (one PostgreSQL, started
    // here, privately, for two HQs), and the vehicle registered by its public key before any daemon starts (each reads
    // the registry as it starts: no reconcile to ask for). Two HQs (hq.replicas: 2): the same key file (one WireGuard
    // identity), a state dir and control socket each.
    const hqConfigFile = async (machine: 'hq-a' | 'hq-b' | null, database: string | undefined) => {
      const own = machine ? join(dir, machine) : dir;
      await mkdir(own, { recursive: true });
      const file = join(own, 'hq.yaml');
      await writeFile(file, JSON.stringify({
        interface: machine === 'hq-b' ? topo.wg.hqb : topo.wg.hq, listen_port: PLAN.wgPort, private_key_file: join(dir, 'hq.key'),
        tunnel_network: PLAN.tunnelNet, state_dir: join(own, 'hq'), control_socket: join(own, 'hq.sock'),
        lan_subnets: [PLAN.hqLan], log_level: 'info', ...(database ? { database } : {}),
        // Two HQs: VRRP's address, and each machine's admin API on its own loopback (an operator's token, kept in the
        // one store, works on both: hq-power-off.test asks hq-b with a token added through hq-a).
        ...(machine ? { vrrp_address: PLAN.hqLanGw } : {}),
        ...(machine && !opts.enrollByCode ? { admin_listen: `127.0.0.1:${LAB_ADMIN_PORT}`, admin_plain_http: true } : {}),
        ...(opts.enrollByCode ? { enroll_listen: `0.0.0.0:${ENROLL_PORT}`, admin_tls: opts.enrollByCode, firewall: { enroll_from: [`${PLAN.apWan(0)}/32`] } } : {}),
      }));
      return file;
    };
    const registry = (async () => {
      const hqKey = await wg.genKey();
      await writeFile(join(dir, 'hq.key'), hqKey, { mode: 0o600 });
      const database = hqPlan.store === 'postgres' ? await (pg = startTestPostgres({ onSignals: false })).createDatabase('roamlink') : undefined;
      const hqCfg = await hqConfigFile(twoHqs ? 'hq-a' : null, database);
      const hqbCfg = twoHqs ? await hqConfigFile('hq-b', database) : null;
      // The vehicle registered by a key the lab made, or (enrollByCode) a one-time code for `roamlink enroll` below. The
      // CLI reaches the store by file or unix socket: no namespace needed (the network may not be there yet).
      type Registered = { tunnel_address: string; concentrator: { public_key: string; tunnel_address: string } };
      if (opts.enrollByCode) {
        const added = await run([process.execPath, ROAMLINK, 'vehicle', 'add', 'lab-car', '--subnet', PLAN.vehLan, '--valid', '5m', '--config', hqCfg, '--json']);
        return { hqCfg, hqbCfg, reg: null, issued: JSON.parse(added.stdout.trim().split('\n').pop()!) as { code: string; pin: string } };
      }
      const vehKey = await wg.genKey();
      await writeFile(join(dir, 'vehicle.key'), vehKey, { mode: 0o600 });
      const added = await run([process.execPath, ROAMLINK, 'vehicle', 'add', 'lab-car', '--subnet', PLAN.vehLan, '--pubkey', await wg.pubKey(vehKey), '--config', hqCfg, '--json']);
      return { hqCfg, hqbCfg, reg: JSON.parse(added.stdout.trim().split('\n').pop()!) as Registered, issued: null };
    })();
    // Both settled before going on, so that nothing either started (PostgreSQL) outlives a failure of the other.
    const [built, registered] = await Promise.allSettled([topo.up().then(() => phase('topology')), registry.then((r) => (phase('registry'), r))]);
    if (built.status === 'rejected') throw built.reason;
    if (registered.status === 'rejected') throw registered.reason;
    const { hqCfg, hqbCfg, reg, issued } = registered.value;
    // Each emulated link starts as its timeline's first step, before anything associates or dials.
    for (const spec of linkSpecs) {
      const link = topo.links.get(spec.name);
      if (!link || !spec.timeline) continue;
      await link.set(linkAt(spec.timeline, 0));
      linkSteps.set(spec.name, [{ at_ms: 0, applied_ms: 0, ...linkAt(spec.timeline, 0) }]);
    }

    let hqReady: (() => void) | null = null;
    // The build each daemon runs from: this one, until a restart fault with `upgrade` moves it to a copy.
    const builds = { hq: ROAMLINK, agent: ROAMLINK };
    // An upgrade's new build is unpacked during the set-up, as an installer unpacks before it restarts anything: a
    // copy made at the fault took over 3 s in a CI run (disk shared with the Debian-root tests), the agent's restart
    // waited for it, and the concentrator's fault came first.
    const nextBuild: Promise<string> | null = sc.faults.some((f) => f.kind === 'restart' && f.upgrade) ? copyBuild(join(dir, 'upgrade')) : null;
    nextBuild?.catch(() => {}); // awaited before the clock starts; a failure is thrown there
    const startHq = (machine: 'hq-a' | 'hq-b' = 'hq-a', onReady?: () => void) =>
      topo.procs.start(machine === 'hq-a' ? 'hq' : 'hq-b', [process.execPath, builds.hq, 'hq', '--config', machine === 'hq-a' ? hqCfg : hqbCfg!], {
        netns: topo.hqNs(machine),
        onStderrLine: (line) => {
          if (!line.includes('"concentrator ready"')) return;
          hqReady?.();
          onReady?.();
        },
      });
    /** Starts an HQ's daemon and waits (bounded) for its "concentrator ready": its peers programmed, its socket listening. */
    const startHqReady = async (machine: 'hq-a' | 'hq-b') => {
      let ready!: () => void;
      const isReady = new Promise<void>((resolve) => (ready = resolve));
      const p = startHq(machine, ready);
      await within(Promise.race([isReady, p.exited.then((c) => { throw new Error(`the concentrator (${machine}) exited (${c}) during start-up`); })]), 10_000, `the concentrator (${machine}) to start`, opts.signal);
      return p;
    };
    // VRRP for HQ's LAN gateway: keepalived in each HQ machine (lab/keepalived.ts).
    const startKeepalived = async (machine: 'hq-a' | 'hq-b') => {
      const i = machine === 'hq-a' ? 0 : 1;
      const conf = join(dir, machine, 'keepalived.conf');
      await writeFile(conf, keepalivedConf({ name: machine, lanIf: 'lan0', wanIf: 'wan0', own: PLAN.hqLanOwn[i], peer: PLAN.hqLanOwn[1 - i]!, vip: `${PLAN.hqLanGw}/24`, priority: i === 0 ? 150 : 100 }));
      return topo.procs.start(`keepalived-${machine}`, keepalivedArgv(conf, join(dir, machine)), { netns: topo.hqNs(machine) });
    };
    const holdsGateway = async (machine: 'hq-a' | 'hq-b') => (await run(['ip', '-j', 'addr', 'show', 'dev', 'lan0'], { netns: topo.hqNs(machine), allowFail: true })).stdout.includes(`"${PLAN.hqLanGw}"`);
    // One HQ and no enrollment: the agent starts while HQ's daemon does, each ~1.4 s of Node start-up that the other
    // need not wait for (phases 'hq' and 'agent-tunnel', 2026-12-04). The agent cannot get ahead of HQ: its uplinks are
    // ready only once HQ's probe echo answers, and HQ starts that after its peers are programmed (concentrator/daemon.ts),
    // so the agent's first handshake finds its peer. HQ's readiness is awaited before the agent's first switch is.
    // Two HQs (VRRP below) and enrollment (HQ must answer the code first) keep the order: HQ ready, then the rest.
    const hqStarting = startHqReady('hq-a');
    hqStarting.catch(() => {}); // awaited below
    const overlap = !twoHqs && !issued;
    if (!overlap) {
      hq = await hqStarting;
      phase('hq');
    }
    // The second HQ reads the same registry and programs the same peer; hq-a's keepalived first, so that it is VRRP's
    // master (neither preempts: the master keeps the address while it lives).
    if (twoHqs) {
      await startHqReady('hq-b');
      await startKeepalived('hq-a');
      await waitFor(() => holdsGateway('hq-a'), 10_000, 'hq-a to hold the LAN gateway (VRRP)', opts.signal);
      await startKeepalived('hq-b');
      phase('hq-b');
    }

    // The radios: a wpa_supplicant control interface each, emulated, whose APs' signals follow the scenario.
    radios = new LabRadios(topo, sc, dir, () => tNow());
    await radios.start();
    // The modem: the LTE uplink runs through the production AT driver against an emulated modem.
    if (sc.lte) {
      lte = new LabLte(topo, sc, dir, () => tNow());
      await lte.start();
    } else {
      await topo.carrier(PLAN.modem, false);
    }

    phase('radios-modem');
    // The agent, with the scenario's overrides.
    const agentCfg = join(dir, 'agent.yaml');
    // Enrolling, the vehicle's own fields (name, key, tunnel, HQ's key and routes, LAN subnet) are left to `roamlink enroll`.
    const base: Record<string, unknown> = {
      ...(reg ? { vehicle: 'lab-car' } : {}),
      wireguard: { interface: topo.wg.veh, ...(reg ? { private_key_file: join(dir, 'vehicle.key'), address: reg.tunnel_address.split('/')[0] } : {}) },
      ...(reg ? { concentrator: { ...(twoHqs ? { endpoints: [`${PLAN.hqWan}:${PLAN.wgPort}`, `${PLAN.hqbWan}:${PLAN.wgPort}`] } : { endpoint: `${PLAN.hqWan}:${PLAN.wgPort}` }), public_key: reg.concentrator.public_key, tunnel_address: reg.concentrator.tunnel_address.split('/')[0], routes: [PLAN.hqLan] } } : {}),
      lan: { interface: 'lan0', ...(reg ? { subnet: PLAN.vehLan } : {}) },
      ...(lte ? { modem: { device: lte.devicePath, apn: 'internet' } } : {}),
      uplinks: [
        ...PLAN.radios.map((name) => ({ name, kind: 'wifi', ctrl_path: radios!.ctrlPath(name) })),
        { name: PLAN.modem, kind: 'lte' },
      ],
      control_socket: join(dir, 'agent.sock'), run_dir: join(dir, 'agent-run'), state_dir: join(dir, 'agent-state'),
      // A lab run lasts seconds: with --hq-drive the agent ships its drive every 2 s (a vehicle: every minute).
      ...(opts.hqDrive ? { drive: { interval_ms: 2000 } } : {}),
    };
    await writeFile(agentCfg, JSON.stringify(mergeConfig(base, sc.agent as Record<string, unknown>)));
    // Enrolling: HQ is ready (its enrollment listener answers from then), the vehicle redeems its code.
    if (issued) {
      await enrollOverDepotWifi(topo, issued, agentCfg, join(dir, 'vehicle.key'));
    }
    const onAgentLine = (line: string) => {
      opts.agentLog?.push(line);
      recentAgent.push(line);
      if (recentAgent.length > 15) recentAgent.shift();
      let v: Record<string, unknown>;
      try {
        v = JSON.parse(line);
      } catch {
        return;
      }
      if (v.event === 'switch') {
        const s = v as unknown as AgentSwitchLine;
        switches.push(s);
        active = s.to;
        initialSeen?.(s);
        if (Number.isFinite(t0)) say({ type: 'switch', tMs: s.decided_at - t0, from: s.from, to: s.to, reason: s.reason, msToFirstPacket: s.ms_to_first_packet, why: s.why?.text ?? null });
      } else if (v.event === 'hq.failover' && typeof v.time === 'number') {
        hqMoves.push({ at: v.time, from: String(v.from), to: String(v.to), silent_ms: Number(v.silent_ms) });
      } else if (v.event === 'redundancy.changed' && typeof v.time === 'number') {
        copies.push({ at: v.time, via: typeof v.via === 'string' ? v.via : null });
      } else if (v.event === 'uplink.phase') {
        const name = String(v.uplink);
        if (v.phase === 'ready') readyUplinks.add(name);
        else readyUplinks.delete(name);
        if (Number.isFinite(t0)) say({ type: 'uplink', tMs: tNow(), uplink: name, phase: String(v.phase), address: (v.address as string | null) ?? null });
      }
    };
    const startAgent = () => {
      const p = topo.procs.start('agent', [process.execPath, ...(opts.agentNodeFlags ?? AGENT_NODE_FLAGS), ...labAgentNodeArgs(), builds.agent, 'agent', '--config', agentCfg], { netns: topo.ns.veh, onStderrLine: onAgentLine, onStdoutLine: onAgentLine });
      opts.onAgent?.(p.pid);
      return p;
    };
    // Traffic: dispatcher <-> camera, sequence-numbered, starting together. The meters start now, beside the agent, and
    // listen until they are told when to send: both must be listening before the first packet goes (a meter that came
    // up after its peer's start time missed its first packets: 2026-12, under load, up to 139 of 1,200 lost).
    const up = sc.traffic.direction !== 'down';
    const down = sc.traffic.direction !== 'up';
    const meterCommon = { pps: sc.traffic.pps, durationMs: sc.duration, startAtMs: 'stdin' as const, drainMs: 1500 };
    const runUp = Math.floor(Math.random() * 1e9);
    // What each sends (as the meter counts it): a receiver with all of it stops draining (lab/meter/meter.ts).
    const perDirection = Math.round((sc.traffic.pps * sc.duration) / 1000);
    const metersListening = Promise.all([
      startMeter({ ...meterCommon, netns: topo.ns.cam, bind: `${PLAN.camera}:${METER_PORT}`, peer: `${PLAN.dispatcher}:${METER_PORT}`, send: up, runId: runUp, expectRx: down ? perDirection : 0 }),
      startMeter({ ...meterCommon, netns: topo.ns.disp, bind: `${PLAN.dispatcher}:${METER_PORT}`, peer: `${PLAN.camera}:${METER_PORT}`, send: down, runId: runUp, expectRx: up ? perDirection : 0 }),
    ]);
    metersListening.catch(() => {}); // awaited below, once the tunnel is up; a meter left running goes with its namespace
    say({ type: 'phase', text: 'starting the agent; waiting for the tunnel and every usable uplink' });
    const firstSwitch = new Promise<AgentSwitchLine>((resolve) => (initialSeen = resolve));
    agent = startAgent();
    if (overlap) {
      hq = await hqStarting;
      phase('hq');
    }
    const initial = await Promise.race([
      firstSwitch,
      sleep(20_000, opts.signal).then(() => { throw new Error(`the agent did not bring the tunnel up within 20 s${agentTail()}`); }),
      agent.exited.then((c) => { throw new Error(`the agent exited (${c}) during start-up${agentTail()}`); }),
    ]);
    initialSeen = null;
    phase('agent-tunnel');
    // Every uplink the scenario can use should be ready before the clock starts (bounded wait).
    // (Each radio takes an AP of its own: with one AP, one radio stays unassociated; an AP below its connect-list entry's
    // min_signal at time 0 is joined by none, and waiting for it only spent the whole bound: 8 s of each selection-drive run.)
    const radiosUsable = Math.min(PLAN.radios.length, joinableAtStart(sc));
    await waitFor(async () => PLAN.radios.filter((r) => readyUplinks.has(r)).length >= radiosUsable && (!sc.lte || readyUplinks.has(PLAN.modem)), 8000, 'all uplinks ready', opts.signal).catch(() => {});
    // The tunnel carries traffic end to end before the clock starts.
    await waitFor(async () => (await run(['ping', '-c', '1', '-W', '1', PLAN.dispatcher], { netns: topo.ns.cam, allowFail: true })).exitCode === 0, 10_000, 'the tunnel to carry traffic', opts.signal)
      .catch(async (e: Error) => { throw new Error(`${e.message}${await tunnelDiagnosis()}${agentTail()}`); });
    phase('uplinks-ping');
    if (opts.beforeTraffic) {
      await opts.beforeTraffic({ topo });
      phase('before-traffic');
    }

    if (nextBuild) await nextBuild;
    // Traffic: told when to start once the tunnel carries traffic, METER_LEAD_MS ahead (the meters already listen).
    const meters = await metersListening;
    const startAt = wall() + METER_LEAD_MS;
    await within(Promise.all(meters.map((m) => m.start(startAt))), 5000, 'the traffic meters to read their start time', opts.signal);
    phase('meters-told');
    phases.push(['lead', Math.round(startAt - wall())]); // set-up ends at t0: the wait until then
    t0 = startAt;
    phase('meters');
    opts.onClockStart?.(t0);
    const bytesAtStart = await uplinkTxBytes(topo.ns.veh);
    const initialUplink = initial.to;
    say({ type: 'phase', text: `traffic: ${sc.traffic.pps} packets/s ${sc.traffic.direction === 'both' ? 'each way' : sc.traffic.direction}, for ${sc.duration / 1000} s; tunnel on ${initialUplink}` });

    // Faults on the scenario's clock.
    const faultErrors: string[] = [];
    const applied: AppliedFault[] = [];
    const note = (f: Fault, uplinks: string[]) => applied.push({
      kind: f.kind, ...(f.kind === 'restart' ? { target: f.target, mode: f.mode, ...(f.upgrade ? { upgrade: true } : {}) } : {}),
      ...(f.kind === 'power-off' ? { target: f.target } : {}),
      at_ms: f.at, applied_ms: Math.round(tNow() * 10) / 10, uplinks, active,
    });
    const resolveUplinks = (sel: string): UplinkName[] =>
      sel === 'all' ? UPLINKS : sel === 'active' ? (active ? [active as UplinkName] : []) : [sel as UplinkName];
    const doFault = async (f: Fault) => {
      switch (f.kind) {
        case 'switch': {
          note(f, active ? [active] : []);
          say({ type: 'fault', tMs: tNow(), text: `operator: roamlink switch ${f.to}` });
          // The request `roamlink switch` makes, sent from here: a CLI process of its own took over a second to start
          // under CI's load (a CI on a clean clone of aeea379, dozen-switches: the request of 1 s was decided at 2.1 s,
          // and 4 of 13 met the one before still under way). What the scenario times is the agent's switch, not Node's
          // start-up.
          const r = await agentRequest(join(dir, 'agent.sock'), 'POST', '/v1/switch', { to: f.to }).catch((e: Error) => ({ status: 0, body: { error: { message: e.message } } }));
          const body = r.body as { error?: { message?: string } } | null;
          if (r.status !== 200) faultErrors.push(`switch to ${f.to} at ${f.at} ms: ${body?.error?.message ?? `the agent answered ${r.status}`}`);
          break;
        }
        case 'blackhole': {
          const targets = resolveUplinks(f.uplink);
          note(f, targets);
          say({ type: 'fault', tMs: tNow(), text: `blackhole on ${targets.join(', ') || 'nothing'} for ${f.for} ms` });
          // All at once: one after the other, under load each nft took ~300 ms, and a path not yet blackholed answered
          // the agent's at-once probe (far-end.test, 2026-12-03: every path blackholed taken for the active's alone).
          await Promise.all(targets.map((u) => topo.blackhole(u, true)));
          timers.push(setTimeout(() => void Promise.all(targets.map((u) => topo.blackhole(u, false))).catch(() => {}), f.for));
          break;
        }
        case 'carrier-loss': {
          const targets = resolveUplinks(f.uplink);
          note(f, targets);
          say({ type: 'fault', tMs: tNow(), text: `carrier lost on ${targets.join(', ')}${f.for ? ` for ${f.for} ms` : ''}` });
          // LTE loses coverage at the modem (the network drops the bearer); a radio loses its link.
          const cut = async (u: UplinkName, up: boolean) => (u === PLAN.modem && lte ? lte.setCoverage(up) : topo.carrier(u, up));
          for (const u of targets) await cut(u, false);
          if (f.for) timers.push(setTimeout(() => void Promise.all(targets.map((u) => cut(u, true))).catch(() => {}), f.for));
          break;
        }
        case 'power-off': {
          note(f, active ? [active] : []);
          const entry = applied[applied.length - 1]!;
          entry.ready_ms = null;
          say({ type: 'fault', tMs: tNow(), text: `power-off of ${f.target} for ${f.for} ms` });
          // Every process in the machine killed at once (the daemon, its probe echo, wireguard-go, keepalived), links down.
          await topo.powerOff(f.target);
          timers.push(setTimeout(() => void (async () => {
            await topo.powerOn(f.target);
            say({ type: 'fault', tMs: tNow(), text: `${f.target} powered on` });
            await startKeepalived(f.target);
            const ready = (line: string) => {
              if (line.includes('"concentrator ready"') && entry.ready_ms === null) entry.ready_ms = Math.round(tNow() * 10) / 10;
            };
            const p = topo.procs.start(f.target === 'hq-a' ? 'hq' : 'hq-b', [process.execPath, builds.hq, 'hq', '--config', f.target === 'hq-a' ? hqCfg : hqbCfg!], { netns: topo.hqNs(f.target), onStderrLine: ready });
            if (f.target === 'hq-a') hq = p;
          })().catch((err) => faultErrors.push(`power-on of ${f.target}: ${String(err)}`)), f.for));
          break;
        }
        case 'restart': {
          note(f, active ? [active] : []);
          const entry = applied[applied.length - 1]!; // this fault's (taken before any await: another may be noted meanwhile)
          say({ type: 'fault', tMs: tNow(), text: `${f.mode === 'kill' ? 'crash (SIGKILL)' : 'restart'} of the ${f.target}` });
          // graceful: SIGTERM and a grace period (systemctl restart); kill: SIGKILL, no cleanup (a crash).
          const halt = (p: Proc) => (f.mode === 'kill' ? p.kill() : p.stop());
          if (f.upgrade) {
            // Copied during the set-up (above), so the copy is not in the outage.
            const build = await nextBuild!;
            builds[f.target === 'concentrator' ? 'hq' : 'agent'] = build;
            entry.build = build;
          }
          if (f.target === 'concentrator') {
            const mode = opts.hqReboot ? 'reboot' : f.mode;
            entry.mode = mode;
            entry.ready_ms = null;
            if (mode === 'reboot') {
              // A reboot: the daemon gone without cleanup, and the interface with it (wireguard-go too, as the kernel's would go).
              await hq!.kill();
              await wg.deleteInterface(topo.wg.hq, { netns: topo.ns.hq });
              stopEcho(join(dir, 'hq-probe-echo.pid'));
            } else await halt(hq!);
            hqReady = () => {
              entry.ready_ms = Math.round(tNow() * 10) / 10;
              hqReady = null;
            };
            hq = startHq();
          } else {
            await halt(agent!);
            agent = startAgent();
          }
          break;
        }
      }
    };
    // The links' later steps, on the scenario's clock.
    for (const spec of linkSpecs) {
      const link = topo.links.get(spec.name);
      for (const [at, params] of (spec.timeline ?? []).slice(1)) {
        if (!link) break;
        const step = { at_ms: at, applied_ms: null as number | null, ...params };
        linkSteps.get(spec.name)!.push(step);
        timers.push(setTimeout(() => {
          say({ type: 'fault', tMs: tNow(), text: `link ${spec.name}: ${JSON.stringify(params)}` });
          step.applied_ms = Math.round(tNow() * 10) / 10;
          void link.set(params).catch((err) => faultErrors.push(`link ${spec.name} at ${at} ms: ${String(err)}`));
        }, Math.max(0, t0 + at - wall())));
      }
    }
    for (const f of sc.faults) {
      timers.push(setTimeout(() => void doFault(f).catch((err) => faultErrors.push(`${f.kind} at ${f.at} ms: ${String(err)}`)), Math.max(0, t0 + f.at - wall())));
    }

    const duringDone = opts.during?.({
      hq: (args) => run([process.execPath, ROAMLINK, ...args, '--config', hqCfg], { netns: topo.ns.hq, allowFail: true }),
      tNow,
      topo,
      agent: {
        config: agentCfg, socket: join(dir, 'agent.sock'),
        signal: (sig) => agent?.signal(sig),
        running: () => agent?.running ?? false,
        vehicle: (args) => run([process.execPath, ROAMLINK, ...args], { netns: topo.ns.veh, allowFail: true }),
      },
    });
    const results = await Promise.all(meters.map((m) => m.result)).catch((err) => {
      throw opts.signal?.aborted ? opts.signal.reason : err;
    });
    opts.signal?.throwIfAborted();
    await duringDone;
    // A concentrator restarted late in the run may not have said it is ready by its end on a loaded machine (a CI on a
    // clean clone of a83fc59: upgrade.test's, restarted at 5 s of 8): a few more seconds for it, so that its report
    // says when it was, rather than nothing.
    if (hqReady) await waitFor(async () => hqReady === null, 10_000, 'the restarted concentrator to say it is ready', opts.signal).catch(() => {});
    phase('run');
    const [cam, disp] = results as [typeof results[0], typeof results[0]];
    // What each uplink sent over the run (its interface's tx bytes), and of that the copies (the steering's counters).
    const bytesAtEnd = await uplinkTxBytes(topo.ns.veh);
    const copied = await run(['nft', '-j', 'list', 'counters', 'table', 'ip', 'roamlink'], { netns: topo.ns.veh, allowFail: true });
    const copyBytes = copied.exitCode === 0 ? parseCopyCounters(copied.stdout) : {};
    const uplinkBytes = Object.fromEntries(UPLINKS.map((u) => [u, { bytes_sent: Math.max(0, bytesAtEnd[u]! - bytesAtStart[u]!), bytes_redundant: copyBytes[u]?.bytes ?? 0 }]));
    const inRun = switches.filter((s) => s.decided_at >= t0 && s.decided_at <= t0 + sc.duration);
    const switchIn: SwitchIn[] = inRun.map((s) => ({
      at_ms: Math.round(s.decided_at - t0), decided_at: s.decided_at, done_at: s.confirmed_at ?? undefined,
      from: s.from ?? '-', to: s.to, reason: s.reason, ms_to_first_packet: s.ms_to_first_packet, id: s.id,
    }));
    const directions = [
      ...(up ? [{ name: 'up (camera → dispatcher)', sender: cam, receiver: disp }] : []),
      ...(down ? [{ name: 'down (dispatcher → camera)', sender: disp, receiver: cam }] : []),
    ];
    // An HQ power-off and a concentrator restart cost traffic with no switch answering them: their loss is theirs.
    const outages = applied.filter((f) => f.kind === 'power-off' || (f.kind === 'restart' && f.target === 'concentrator')).map((f) => f.applied_ms);
    const a = analyze({ runStartMs: t0, directions, switches: switchIn, outages });
    const reportSwitches = a.switches.map((s) => ({
      at_ms: s.at_ms, from: s.from, to: s.to, reason: s.reason, gap_ms: s.gap_ms, lost: s.lost,
      ms_to_first_packet: s.ms_to_first_packet as number | null,
    }));
    // Every fault (restarts and operator switches too): its outage (fault to the first packet through after what it
    // cost), the datagrams it cost, and the switch that answered it.
    const indexed = directions.map(indexDirection);
    const reportFaults = applied.map((f, i) => {
      const next = applied.slice(i + 1).find((g) => g.applied_ms > f.applied_ms);
      const horizon = t0 + Math.min(next?.applied_ms ?? Infinity, f.applied_ms + 10_000, sc.duration + 1000);
      const o = outageAfter(indexed, t0 + f.applied_ms, horizon);
      // The switch that answered it: away from the uplink it hit, before the next fault.
      const answer = inRun.find((s) => s.decided_at - t0 >= f.applied_ms && s.decided_at - t0 < (next?.applied_ms ?? Infinity) && f.active !== null && s.from === f.active);
      // Copies flowed through a standby when it hit (the agent's last redundancy change before it).
      const copying = copies.filter((c) => c.at <= t0 + f.applied_ms).at(-1);
      // A power-off: the agent's move to the other HQ that answered it.
      const moved = f.kind === 'power-off' ? hqMoves.find((m) => m.at - t0 >= f.applied_ms && m.at - t0 < (next?.applied_ms ?? Infinity)) : undefined;
      return {
        ...f,
        ...(f.kind === 'power-off' ? { hq_failover: moved ? { at_ms: Math.round((moved.at - t0) * 10) / 10, from: moved.from, to: moved.to, silent_ms: moved.silent_ms } : null } : {}),
        redundant: copying?.via != null,
        outage_ms: o.outage_ms,
        lost: o.by_direction.reduce((n, d) => n + d.lost, 0),
        outage_by_direction: o.by_direction,
        switch: answer ? { to: answer.to, reason: answer.reason, detect_ms: Math.round((answer.decided_at - t0 - f.applied_ms) * 10) / 10, ms_to_first_packet: answer.ms_to_first_packet } : null,
      };
    });
    // The switch log as HQ stored it: every switch the agent made, once, in order (shipping is asynchronous:
    // wait, bounded, for the last ones to arrive).
    let hqLog = await readHqLog(hqCfg);
    const agentIds = switches.map((s) => s.id);
    for (let i = 0; i < 50 && agentIds.some((id) => !hqLog.some((h) => h.id === id)); i++) {
      await sleep(200, opts.signal);
      hqLog = await readHqLog(hqCfg);
    }
    const hqCheck = compareLogs(agentIds, hqLog.map((h) => String(h.id)));
    if (opts.hqDrive) {
      await exportHqDrive((args) => run([process.execPath, ROAMLINK, ...args, '--config', hqCfg], { netns: topo.ns.hq, allowFail: true }), 'lab-car', opts.hqDrive, t0, t0 + sc.duration, opts.signal);
    }
    // What each link was: its steps as applied, and what the emulator dropped each way (ideal links: a plain wire).
    const reportLinks = await Promise.all(linkSpecs.map(async (spec) => {
      const link = topo.links.get(spec.name);
      const counts = link ? await link.stats() : null;
      return {
        name: spec.name, serves: spec.serves, kind: spec.kind, emulated: link !== undefined,
        steps: linkSteps.get(spec.name) ?? [{ at_ms: 0, applied_ms: 0, ...IDEAL_LINK }],
        ...(counts ? { counted: counts } : {}),
      };
    }));
    phase('results');
    const measured = { traffic: a.traffic, switches: reportSwitches, faults: reportFaults, hq_log_mismatch: hqCheck.mismatch };
    const expect = evaluateExpect(sc.expect as Record<string, number | undefined>, measured);
    if (faultErrors.length) expect.push({ name: 'faults_applied', limit: 0, actual: faultErrors.length, ok: false });
    const report: Report = {
      scenario: sc.name,
      ok: expect.every((e) => e.ok),
      expect,
      traffic: a.traffic,
      switches: reportSwitches,
      uplink_ms: Object.fromEntries(Object.entries(uplinkTime(reportSwitches, initialUplink, sc.duration, UPLINKS)).filter(([k]) => k !== '-')),
      uplinks: uplinkBytes,
      hq_log: hqLog,
      hq_log_check: hqCheck,
      // delay_ms: the one-way delay camera to dispatcher (or back) as the meters measured it, links and tunnel together.
      directions: a.directions.map(({ name, sent, received, lost, duplicates, reordered, max_gap_ms, max_gap_at_ms, lost_runs, delay_ms }) => ({ name, sent, received, lost, duplicates, reordered, max_gap_ms, max_gap_at_ms, lost_runs, delay_ms })),
      faults: reportFaults,
      links: reportLinks,
      fault_errors: faultErrors,
      lab: { id: topo.id, wireguard: 'see agent log', dir, ...(pg ? { postgres: pg.dir } : {}) },
      hq: { replicas: hqPlan.replicas, store: hqPlan.store, failovers: hqMoves.map((m) => ({ at_ms: Math.round((m.at - t0) * 10) / 10, from: m.from, to: m.to, silent_ms: m.silent_ms })) },
    };
    return report;
  } finally {
    for (const t of timers) clearTimeout(t);
    await radios?.stop().catch(() => {});
    await lte?.stop().catch(() => {});
    phase('emulators-down');
    await topo.down();
    phase('topology-down');
    // After the HQs (they hold connections to it): the lab's PostgreSQL, stopped and its directory removed.
    try {
      (pg as TestPostgres | null)?.destroy(); // assigned in the registry's closure (TypeScript sees only the null)
    } catch {
      /* its directory goes with the lab's temp dir anyway */
    }
    if (opts.drive && Number.isFinite(t0)) {
      await exportLabDrive(join(dir, 'agent-state', 'drives'), opts.drive, t0, t0 + sc.duration).catch((err) => {
        driveError = err instanceof Error ? err : new Error(String(err));
      });
    }
    await rm(dir, { recursive: true, force: true });
    phase('teardown');
    if (process.env.ROAMLINK_LAB_TIMINGS) {
      await appendFile(process.env.ROAMLINK_LAB_TIMINGS, `${JSON.stringify({ scenario: sc.name, duration_ms: sc.duration, phases: Object.fromEntries(phases) })}\n`).catch(() => {});
    }
    if (driveError) throw driveError;
  }
}

/**
 * How many of the scenario's APs a radio may join at time 0: all but those weaker then than their connect-list entry's
 * min_signal (the agent's floor is at least that: shared/policy.ts signalFloor). An AP with no entry, or an entry
 * without min_signal, counts (waited for as before).
 */
export function joinableAtStart(sc: Pick<Scenario, 'aps' | 'agent'>): number {
  const list = (sc.agent as { connect_list?: Array<{ ssid?: unknown; min_signal?: unknown }> }).connect_list ?? [];
  return sc.aps.filter((ap) => {
    const min = list.find((e) => e.ssid === ap.ssid)?.min_signal;
    return typeof min !== 'number' || signalAt(ap.signal, 0) >= min;
  }).length;
}

/** The scenario's links: each AP's and the carrier's, what it serves, and its timeline (none: an ideal wire). */
export function labLinks(sc: Scenario): Array<{ name: string; serves: string; kind: 'wifi' | 'lte'; timeline: LinkTimeline | undefined }> {
  return [
    ...sc.aps.map((ap, i) => ({ name: `aps[${i}]`, serves: `AP ${ap.ssid}`, kind: 'wifi' as const, timeline: ap.link })),
    ...(sc.lte ? [{ name: 'lte', serves: 'LTE carrier', kind: 'lte' as const, timeline: sc.lte.link }] : []),
  ];
}

/**
 * The agent's switches (by id, in the order it made them) against HQ's log: missing, doubled, foreign, and out of
 * order entries; `mismatch` adds them up (0: HQ holds every switch exactly once, in order).
 */
export function compareLogs(agent: readonly string[], hq: readonly string[]) {
  const count = new Map<string, number>();
  for (const id of hq) count.set(id, (count.get(id) ?? 0) + 1);
  const missing = agent.filter((id) => !count.has(id)).length;
  const duplicates = [...count.values()].reduce((n, c) => n + c - 1, 0);
  const known = new Set(agent);
  const foreign = [...count.keys()].filter((id) => !known.has(id)).length;
  const seen = hq.filter((id, i) => known.has(id) && hq.indexOf(id) === i);
  const expected = agent.filter((id) => count.has(id));
  const outOfOrder = seen.filter((id, i) => id !== expected[i]).length;
  return { agent: agent.length, stored: hq.length, missing, duplicates, foreign, out_of_order: outOfOrder, mismatch: missing + duplicates + foreign + outOfOrder };
}

/** The switch log as the concentrator stored it. */
/** enroll_listen's port in the lab (enrollByCode). */
export const ENROLL_PORT = 8444;
/** Two HQs: each machine's admin API, plain HTTP on its own loopback. */
export const LAB_ADMIN_PORT = 8443;

/**
 * `roamlink enroll` in the vehicle's namespace, over AP 0 (the depot) with a static address and a route to HQ's WAN
 * only, then all of it undone: the agent starts on a vehicle as an installer leaves it. Throws with enroll's output.
 */
async function enrollOverDepotWifi(topo: Topology, issued: { code: string; pin: string }, config: string, key: string): Promise<void> {
  const radio = PLAN.radios[0];
  const address = `${PLAN.apNet(0)}.240/24`; // outside the AP's DHCP pool (.100-.199)
  const ns = topo.ns.veh;
  await topo.associate(radio, 0);
  try {
    await run(['ip', 'address', 'add', address, 'dev', radio], { netns: ns });
    await run(['ip', 'route', 'add', `${PLAN.hqWan}/32`, 'via', `${PLAN.apNet(0)}.1`, 'dev', radio], { netns: ns });
    const r = await run([process.execPath, ROAMLINK, 'enroll', issued.code, '--hq', `${PLAN.hqWan}:${ENROLL_PORT}`, '--pin', issued.pin, '--config', config, '--key', key, '--json'], { netns: ns, allowFail: true });
    if (r.exitCode !== 0) throw new Error(`roamlink enroll exited ${r.exitCode}: ${r.stderr.trim()}`);
  } finally {
    await run(['ip', 'route', 'del', `${PLAN.hqWan}/32`], { netns: ns, allowFail: true });
    await run(['ip', 'address', 'del', address, 'dev', radio], { netns: ns, allowFail: true });
    await topo.associate(radio, null);
  }
}

/**
 * The switch log as `roamlink log --json` prints it (its store, its line format: cli/log.ts jsonLine), read in this
 * process: spawning the CLI for it cost 0.65-1 s of every run (phase 'results', 2026-12-04) and up to 50 more while
 * waiting for the last switches to arrive. The CLI's own output is the unit tests' (cli-commands, log).
 */
async function readHqLog(hqCfg: string): Promise<Report['hq_log']> {
  // As the CLI's exit 1: none yet (or not readable now) is an empty log, and the caller asks again.
  const opened = await openEventLog(await loadHqConfig(hqCfg)).catch(() => null);
  if (!opened) return [];
  try {
    const out: Report['hq_log'] = [];
    for await (const e of opened.store.iterate({})) out.push(JSON.parse(jsonLine(e)));
    return out;
  } catch {
    return [];
  } finally {
    await opened.close().catch(() => {});
  }
}

/** `p`, or an error naming `what` after `timeoutMs` (or the abort's reason). */
async function within<T>(p: Promise<T>, timeoutMs: number, what: string, signal?: AbortSignal): Promise<T> {
  const giveUp = new AbortController();
  const onAbort = () => giveUp.abort(signal!.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await Promise.race([p, sleep(timeoutMs, giveUp.signal).then(() => { throw new Error(`timed out waiting for ${what}`); })]);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    giveUp.abort();
  }
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string, signal?: AbortSignal): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await sleep(100, signal);
  }
  throw new Error(`timed out waiting for ${what}`);
}

export { signalAt };

/** Each uplink interface's tx bytes in the vehicle's namespace (0 when unreadable). */
async function uplinkTxBytes(netns: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const u of UPLINKS) {
    const r = await run(['cat', `/sys/class/net/${u}/statistics/tx_bytes`], { netns, allowFail: true });
    out[u] = r.exitCode === 0 && /^\d+\s*$/.test(r.stdout) ? Number(r.stdout.trim()) : 0;
  }
  return out;
}
