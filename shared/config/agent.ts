// The agent's config file (YAML): its tunnel, the concentrator, the vehicle LAN, its uplinks; errors name the field.
import { readFile } from 'node:fs/promises';
import { parseYaml } from '../yaml.js';
import { z } from 'zod';
import { InputError, parseOrThrow } from '../errors.js';
import { isWgKey } from '../wg.keys.js';
import { connectListSchema } from './connect-list.js';
import { modemConfigSchema } from './modem.js';
import { policyOverridesSchema } from '../policy.js';

const ipv4 = z.string().regex(/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/, 'must be an IPv4 address');
const cidr = z.string().regex(/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}\/(3[0-2]|[12]?\d)$/, 'must be an IPv4 CIDR');
const ifname = z.string().regex(/^[a-zA-Z0-9_=+.-]{1,15}$/, 'must be an interface name (1-15 of a-z A-Z 0-9 _=+.-)');
const wgKey = z.string().refine(isWgKey, 'must be a WireGuard key (44 characters of base64)');
const IPV4_RE = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
/** host:port, the port 1-65535, and a host of digits and dots a real IPv4 address (not a name to look up). */
const endpoint = z.string().superRefine((s, ctx) => {
  const m = /^([a-zA-Z0-9.-]+):(\d{1,5})$/.exec(s);
  const bad = (message: string) => ctx.addIssue({ code: 'custom', message });
  if (!m) return bad('must be host:port');
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return bad(`${JSON.stringify(s)}: the port must be 1-65535`);
  if (/^[\d.]+$/.test(m[1]!) && !IPV4_RE.test(m[1]!)) return bad(`${JSON.stringify(s)}: ${m[1]} is not an IPv4 address`);
});

export const uplinkSchema = z.strictObject({
  name: ifname,
  kind: z.enum(['wifi', 'lte', 'ethernet']),
  /** wpa_supplicant's control socket of this radio (wifi only). */
  ctrl_path: z.string().optional(),
  /** Cost order among equals: lower is preferred. LTE defaults high: it is the costed fallback. */
  cost: z.number().int().min(0).max(100).optional(),
});

/** The selection policy's overrides (shared/policy.ts, the same schema as a site's profile, which overrides them in turn). */
export const policySchema = policyOverridesSchema;

/** Fields once under `timing`, now the policy's: still read there (a config's own `policy` wins). */
const MOVED_TO_POLICY = ['probe_interval_ms', 'probe_timeout_ms', 'scan_interval_ms'] as const;
function foldTimingIntoPolicy(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) return v;
  const c = v as Record<string, unknown>;
  const t = c.timing;
  if (typeof t !== 'object' || t === null || !MOVED_TO_POLICY.some((k) => k in t)) return v;
  const timing = { ...(t as Record<string, unknown>) };
  const policy = typeof c.policy === 'object' && c.policy !== null ? { ...(c.policy as Record<string, unknown>) } : c.policy === undefined ? {} : c.policy;
  for (const k of MOVED_TO_POLICY) {
    if (!(k in timing)) continue;
    if (typeof policy === 'object' && policy !== null && !(k in policy)) (policy as Record<string, unknown>)[k] = timing[k];
    delete timing[k];
  }
  return { ...c, timing, policy };
}

/** The slower checker beyond the concentrator (agent/machines/watchdog.machine.ts). */
export const watchdogSchema = z.strictObject({
  /** Hosts beyond the concentrator pinged through the tunnel (e.g. HQ's servers); the check fails when none answers. */
  hosts: z.array(ipv4).max(16).default([]),
  /** A name resolved with these servers through the active uplink's own path (a carrier's bogus DNS shows here). */
  dns: z.strictObject({ name: z.string().min(1).max(253), servers: z.array(ipv4).min(1).max(4) }).optional(),
  interval_ms: z.number().int().min(1000).max(3_600_000).default(30_000),
  timeout_ms: z.number().int().min(100).max(10_000).default(2000),
  /** Failed rounds in a row before it acts (moves the tunnel off the uplink and re-addresses it). */
  failures: z.number().int().min(1).max(100).default(3),
});

const agentConfigObject = z.strictObject({
  vehicle: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must be a vehicle name (a-z 0-9 . _ -)'),
  wireguard: z.strictObject({
    interface: ifname,
    private_key_file: z.string().min(1),
    /** The tunnel address HQ assigned to this vehicle. */
    address: ipv4,
    listen_port: z.number().int().min(1).max(65535).optional(),
    /** The mark WireGuard puts on its outer packets; the agent steers packets with this mark. */
    fwmark: z.number().int().min(1).max(0xffff_ffff).default(0x5200),
    mtu: z.number().int().min(1280).max(1500).default(1420),
    keepalive: z.number().int().min(0).max(3600).default(15),
    implementation: z.enum(['auto', 'kernel', 'wireguard-go']).default('auto'),
  }),
  concentrator: z.strictObject({
    /** One HQ's outer address (host:port). */
    endpoint: endpoint.optional(),
    /** Two HQs sharing one WireGuard identity (issue 14): the tunnel goes to the first and moves to the other when its
     *  HQ stops answering on every path while the other answers (agent/policy/hq.failover.ts). Instead of `endpoint`. */
    endpoints: z.array(endpoint).min(1, 'needs at least one host:port').max(2, 'takes at most two HQs').optional(),
    /** ms of silence of the current HQ on every path (no probe reply) before the other HQ is asked and, answering, taken. */
    failover_ms: z.number().int().min(100).max(60_000).default(800),
    public_key: wgKey,
    tunnel_address: ipv4,
    probe_port: z.number().int().min(1).max(65535).default(51821),
    /** The concentrator's agents' API inside the tunnel (switch log, heartbeats, site profiles). */
    api_port: z.number().int().min(1).max(65535).default(8080),
    /** Networks behind HQ reached through the tunnel. */
    routes: z.array(cidr).default([]),
  }).superRefine((c, ctx) => {
    if (c.endpoint === undefined && c.endpoints === undefined) ctx.addIssue({ code: 'custom', path: ['endpoint'], message: 'is required (host:port), or endpoints: [a, b]' });
    if (c.endpoint !== undefined && c.endpoints !== undefined) ctx.addIssue({ code: 'custom', path: ['endpoints'], message: 'give endpoint or endpoints, not both' });
    const list = c.endpoints ?? [];
    if (new Set(list).size !== list.length) ctx.addIssue({ code: 'custom', path: ['endpoints'], message: `the two HQs must differ (${JSON.stringify(list)})` });
  }).transform(({ endpoint: one, endpoints: list, ...rest }) => {
    // One shape for the rest of the agent: `endpoints` always (the first is where the tunnel starts), `endpoint` its first.
    const all = list ?? [one!];
    return { ...rest, endpoint: all[0]!, endpoints: all };
  }),
  lan: z.strictObject({
    interface: ifname,
    subnet: cidr,
    /**
     * LAN hosts may reach the internet straight out of an uplink (masqueraded), not only HQ through the tunnel.
     * Off by default: the vehicle's firewall lets the LAN talk to the tunnel alone (agent/drivers/nft/firewall.ts).
     */
    direct_internet: z.boolean().default(false),
  }).optional(),
  uplinks: z.array(uplinkSchema).min(1, 'needs at least one uplink'),
  connect_list: connectListSchema.default([]),
  /** The LTE modem (AT port, SIM, APN, SMS, balance); drives the uplink of kind lte. */
  modem: modemConfigSchema.optional(),
  /** Uplink that carries the tunnel at start; default: the first ready one in list order. */
  initial_uplink: z.string().optional(),
  /** Overrides of the selection policy's defaults (thresholds, hysteresis, hold times, dead-path limits, LTE use, probe
   *  and scan timing, the Wi-Fi floor). */
  policy: policySchema.default({}),
  /** LTE standby probes stay within this daily budget (agent/policy/budget.ts). */
  lte_budget: z.strictObject({
    bytes_per_day: z.number().int().min(0).max(1_000_000_000).default(5_000_000),
    min_interval_ms: z.number().int().min(100).max(3_600_000).default(2000),
  }).default({ bytes_per_day: 5_000_000, min_interval_ms: 2000 }),
  watchdog: watchdogSchema.optional(),
  /** The drive (what the policy saw, state_dir/drives) shipped to HQ inside the tunnel: how often, and how much on LTE. */
  drive: z.strictObject({
    ship: z.boolean().default(true),
    interval_ms: z.number().int().min(1000).max(86_400_000).default(60_000),
    lte_interval_ms: z.number().int().min(1000).max(86_400_000).default(600_000),
    /** Drive bytes a day (UTC) shipped over LTE; past it, pieces wait for Wi-Fi or the next day. 0: never over LTE. */
    lte_bytes_per_day: z.number().int().min(0).max(1_000_000_000).default(2_000_000),
    /** Days a drive file is kept on the vehicle after it was last written (a new file starts every day); the 64 MB cap
     *  still holds. HQ keeps its copy for its own drive_retention_days. */
    retention_days: z.number().int().min(1).max(365).default(7),
  }).default({ ship: true, interval_ms: 60_000, lte_interval_ms: 600_000, lte_bytes_per_day: 2_000_000, retention_days: 7 }),
  /** The vehicle computer's health (temperature, load, memory, disk, uptime, the modem's USB identity), sampled every
   *  interval_ms off the switch path, carried in the heartbeat, shown by `roamlink status` and on /metrics. */
  health: z.strictObject({
    enabled: z.boolean().default(true),
    interval_ms: z.number().int().min(5000).max(3_600_000).default(60_000),
  }).default({ enabled: true, interval_ms: 60_000 }),
  /** The switch's own timing (probe and scan timing are the policy's: probe_interval_ms, probe_timeout_ms, scan_interval_ms;
   *  still accepted here and moved there). */
  timing: z.strictObject({
    /** How long the old uplink stays untouched after a switch, for packets in flight. */
    drain_ms: z.number().int().min(0).max(10_000).default(200),
    /** How long to wait for the first reply on the new path before calling a switch failed. */
    confirm_timeout_ms: z.number().int().min(10).max(10_000).default(1000),
  }).default({ drain_ms: 200, confirm_timeout_ms: 1000 }),
  control_socket: z.string().default('/run/roamlink/agent.sock'),
  /** host:port for the agent's Prometheus /metrics; absent: not served. */
  metrics_listen: z.string().regex(/^[0-9.]+:\d{1,5}$/, 'must be address:port').optional(),
  state_dir: z.string().default('/var/lib/roamlink'),
  run_dir: z.string().default('/run/roamlink'),
  log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
}).superRefine((c, ctx) => {
  const names = new Set<string>();
  c.uplinks.forEach((u, i) => {
    if (names.has(u.name)) ctx.addIssue({ code: 'custom', path: ['uplinks', i, 'name'], message: `duplicate uplink "${u.name}"` });
    names.add(u.name);
  });
  if (c.initial_uplink && !names.has(c.initial_uplink)) {
    ctx.addIssue({ code: 'custom', path: ['initial_uplink'], message: `"${c.initial_uplink}" is not one of the uplinks` });
  }
});

export const agentConfigSchema = z.preprocess(foldTimingIntoPolicy, agentConfigObject);

export type AgentConfig = z.output<typeof agentConfigSchema>;
export type UplinkConfig = z.output<typeof uplinkSchema>;

export function parseAgentConfig(value: unknown, what = 'agent config'): AgentConfig {
  return parseOrThrow(agentConfigSchema, value, what);
}

export async function loadAgentConfig(path: string): Promise<AgentConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, '--config');
  }
  return parseAgentConfig(parseYaml(text, path), path);
}
