// The concentrator's (HQ) config file: its zod schema and a loader that names the bad field in an InputError.
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { InputError, parseOrThrow } from '../errors.js';
import { assertWgKey, isIfName } from '../wg.keys.js';
import { readSecretFile } from '../secret-file.js';
import { loadAdminTls } from './admin-tls.js';
// The CIDR arithmetic lives with the concentrator, its main user; move it to shared/ when the agent needs it.
import { PRIVATE_RANGES, firstHost, formatIPv4, isNetworkAddress, isPrivate, networkOf, overlaps, parseCidr } from '../../concentrator/cidr.js';

export const DEFAULT_HQ_CONFIG = '/etc/roamlink/hq.yaml';
export const DEFAULT_CONTROL_SOCKET = '/run/roamlink/hq.sock';

const network = (what: string) =>
  z.string().refine((s) => parseCidr(s) !== null, { message: `not an IPv4 CIDR (like ${what})` }).refine(
    (s) => {
      const c = parseCidr(s);
      return c === null || isNetworkAddress(c);
    },
    { message: 'not a network address: its host bits are set' },
  );

export const HqConfigSchema = z.strictObject({
  /** WireGuard interface name. */
  interface: z.string().refine(isIfName, { message: 'not an interface name (1-15 characters of a-z A-Z 0-9 _ = + . -)' }),
  listen_port: z.number().int().min(1).max(65535).default(51820),
  /** UDP port where the agents' reachability probes are echoed (outer and in-tunnel). */
  probe_port: z.number().int().min(1).max(65535).default(51821),
  /**
   * Two concentrators (issue 14): HQ's LAN gateway address that VRRP (keepalived) moves between them. The probe echo
   * then answers the agents only while this machine holds it, so an agent's tunnel goes only to the HQ that carries
   * HQ's LAN (a backup, alive but not the gateway, does not draw tunnels it cannot serve). Absent: always answers.
   */
  vrrp_address: z.string().regex(/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/, 'not an IPv4 address (like 10.0.0.1)').optional(),
  /** File holding the base64 private key; must not be accessible to group or others. */
  private_key_file: z.string().min(1),
  /** The tunnel's IPv4 network; HQ takes its first host, vehicles the next free ones. */
  tunnel_network: network('10.99.0.0/24').refine((s) => (parseCidr(s)?.prefix ?? 0) <= 30, {
    message: 'too small: needs room for HQ and vehicles (at most /30)',
  }),
  /** Where registry.sqlite and generated keys (keys/NAME.key) live. */
  state_dir: z.string().min(1),
  /**
   * The store: absent, SQLite files under state_dir (nothing to set up); a PostgreSQL URL
   * (postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE, or ?host=/run/postgresql for a unix socket) puts the registry,
   * switch log, sites and drives there, where several concentrators can share them. Its password is never logged.
   */
  database: z
    .string()
    .refine((s) => /^postgres(ql)?:\/\/./.test(s), { message: 'not a PostgreSQL URL (postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE)' })
    .refine((s) => { try { new URL(s); return true; } catch { return false; } }, { message: 'not a valid URL' })
    .optional(),
  /** Unix socket of the admin API. */
  control_socket: z.string().min(1).default(DEFAULT_CONTROL_SOCKET),
  /** HQ LAN networks (informational; vehicle subnets must not overlap them). */
  lan_subnets: z.array(network('192.168.10.0/24')).default([]),
  /**
   * The pool vehicle LAN subnets are taken from (`vehicle add --subnet` must lie inside one entry); each entry inside a
   * private range (10/8, 172.16/12, 192.168/16). Default: the three private ranges.
   */
  vehicle_subnets: z
    .array(network('10.20.0.0/16').refine((s) => { const c = parseCidr(s); return c === null || isPrivate(c); }, { message: `not inside a private range (${PRIVATE_RANGES.join(', ')})` }))
    .min(1)
    .default([...PRIVATE_RANGES]),
  /** How often the concentrator re-reads the kernel and re-applies the registry (ms); a failed pass is retried sooner. */
  reconcile_interval_ms: z.number().int().min(1000).max(3_600_000).default(10_000),
  /**
   * HQ's own nftables table (concentrator/firewall): vehicles reach `vehicle_to` (default: lan_subnets) through HQ,
   * not each other unless `vehicle_to_vehicle`, and on HQ itself only the agents' API, the probe echo and ping.
   * enroll_listen's port: only from `enroll_from` (needed with a non-loopback enroll_listen; [0.0.0.0/0] for anywhere),
   * through the tunnel only with `enroll_through_tunnel`.
   */
  firewall: z
    .strictObject({
      enabled: z.boolean().default(true),
      vehicle_to: z.array(network('192.168.10.0/24')).optional(),
      vehicle_to_vehicle: z.boolean().default(false),
      enroll_from: z.array(network('192.0.2.0/24')).optional(),
      enroll_through_tunnel: z.boolean().default(false),
    })
    .default({ enabled: true, vehicle_to_vehicle: false, enroll_through_tunnel: false }),
  log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // Fleet operations (switch log, heartbeats, sites, dashboard, metrics): concentrator/agent-api and concentrator/admin.
  /** TCP port of the agents' API, on tunnel_address only (reachable inside the tunnel). */
  agent_api_port: z.number().int().min(1).max(65535).default(8080),
  /** host:port of the admin HTTP listener (dashboard, JSON API, /metrics), e.g. 127.0.0.1:8443; absent: none. */
  admin_listen: z.string().regex(/^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]|[a-zA-Z0-9.-]+):\d{1,5}$/, 'must be host:port (e.g. 127.0.0.1:8443)').optional(),
  /**
   * The admin listener's certificate (PEM, may carry the chain) and its private key (PEM, mode 0600): HTTPS. install.sh
   * makes a self-signed pair (/etc/roamlink/admin.crt, admin.key) when none is configured.
   */
  admin_tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
  /** Plain HTTP on the admin listener: only with admin_listen on a loopback address (127.0.0.0/8, [::1], localhost). */
  admin_plain_http: z.boolean().default(false),
  /**
   * Before 2026-12, the admin listener's operators: NAME and the SHA-256 of their token, one a line (mode 0600). They
   * live in the store now (store/operators): a file here is adopted once and renamed FILE.in-store. Default:
   * STATE_DIR/operators.
   */
  admin_operators_file: z.string().min(1).optional(),
  /** Before operators: one shared bearer token (mode 0600 file), accepted as operator `admin`. Migrate to operators. */
  admin_token_file: z.string().min(1).optional(),
  /** Days of switch log kept; older events are pruned hourly. */
  log_retention_days: z.number().int().min(1).max(3650).default(365),
  /** Days of vehicles' drives kept (issue 11): a drive file goes whole once HQ has received nothing of it for this long. */
  drive_retention_days: z.number().int().min(1).max(3650).default(30),
  /** A vehicle not heard from (heartbeats) for this long is offline. */
  offline_after_ms: z.number().int().min(1000).max(3_600_000).default(15_000),
  /**
   * host:port where vehicles redeem enrollment codes (`roamlink enroll CODE --hq HOST`): HTTPS with admin_tls, one
   * route, rate limited; absent: no enrollment by code over the network. Plain HTTP only on a loopback address.
   */
  enroll_listen: z.string().regex(/^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]|[a-zA-Z0-9.-]+):\d{1,5}$/, 'must be host:port (e.g. 0.0.0.0:8444)').optional(),
});

export type HqConfigFile = z.output<typeof HqConfigSchema>;

export interface HqConfig extends HqConfigFile {
  /** The file it was read from. */
  source: string;
  /** HQ's own tunnel address (first host of tunnel_network), e.g. 10.99.0.1. */
  tunnel_address: string;
  admin_operators_file: string;
}

/** Reads and checks a private key file: mode 0600 or stricter, content one WireGuard key. Names `field` on error. */
export async function readPrivateKeyFile(path: string, field = 'private_key_file'): Promise<string> {
  return assertWgKey(await readSecretFile(path, field), field, false);
}

/** True for a host that only this machine reaches: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** The admin listener speaks HTTPS (admin_tls), or plain HTTP only when asked for on a loopback address. */
function checkAdminTransport(cfg: HqConfigFile, source: string): void {
  if (cfg.admin_tls && cfg.admin_plain_http) throw new InputError(`${source}: admin_plain_http: true contradicts admin_tls (give one)`);
  if (cfg.enroll_listen && !cfg.admin_tls && !isLoopbackHost(cfg.enroll_listen.slice(0, cfg.enroll_listen.lastIndexOf(':')))) {
    throw new InputError(`${source}: enroll_listen: needs admin_tls (its certificate is the one vehicles pin), or a loopback address`);
  }
  if (!cfg.admin_listen) return;
  const host = cfg.admin_listen.slice(0, cfg.admin_listen.lastIndexOf(':'));
  if (cfg.admin_plain_http && !isLoopbackHost(host)) {
    throw new InputError(`${source}: admin_plain_http: plain HTTP only on a loopback address, not ${host} (give admin_tls: {cert, key})`);
  }
  if (!cfg.admin_tls && !cfg.admin_plain_http) {
    throw new InputError(`${source}: admin_tls: needed with admin_listen ({cert: FILE, key: FILE}; install.sh makes a self-signed pair), or admin_plain_http: true on a loopback address`);
  }
}

/** enroll_listen's port is closed by HQ's table but for firewall.enroll_from: say so at once, not by a silent drop. */
function checkEnrollFirewall(cfg: HqConfigFile, source: string): void {
  const f = cfg.firewall;
  const from = f.enroll_from ?? [];
  from.forEach((a, i) => {
    const j = from.findIndex((b, k) => k < i && overlaps(parseCidr(a)!, parseCidr(b)!));
    if (j >= 0) throw new InputError(`${source}: firewall.enroll_from[${i}]: ${a} overlaps firewall.enroll_from[${j}] ${from[j]} (give one)`);
  });
  if (!cfg.enroll_listen || !f.enabled || f.enroll_from) return;
  if (isLoopbackHost(cfg.enroll_listen.slice(0, cfg.enroll_listen.lastIndexOf(':')))) return;
  throw new InputError(`${source}: firewall.enroll_from: needed with enroll_listen ${cfg.enroll_listen}: the networks vehicles enroll from (e.g. [192.0.2.0/24]; [0.0.0.0/0] for anywhere); HQ's table drops the port otherwise`);
}

/** Checks an already-parsed document (paths resolved against `baseDir`). Pure: no I/O. */
export function checkHqConfig(doc: unknown, source: string, baseDir: string): HqConfig {
  const cfg = parseOrThrow(HqConfigSchema, doc ?? {}, source);
  const tunnel = parseCidr(cfg.tunnel_network)!;
  cfg.lan_subnets.forEach((s, i) => {
    if (overlaps(parseCidr(s)!, tunnel)) throw new InputError(`${source}: lan_subnets[${i}]: ${s} overlaps tunnel_network ${cfg.tunnel_network}`);
  });
  checkAdminTransport(cfg, source);
  checkEnrollFirewall(cfg, source);
  return {
    ...cfg,
    ...(cfg.admin_tls ? { admin_tls: { cert: resolve(baseDir, cfg.admin_tls.cert), key: resolve(baseDir, cfg.admin_tls.key) } } : {}),
    ...(cfg.admin_token_file ? { admin_token_file: resolve(baseDir, cfg.admin_token_file) } : {}),
    private_key_file: resolve(baseDir, cfg.private_key_file),
    state_dir: resolve(baseDir, cfg.state_dir),
    admin_operators_file: cfg.admin_operators_file ? resolve(baseDir, cfg.admin_operators_file) : join(resolve(baseDir, cfg.state_dir), 'operators'),
    control_socket: resolve(baseDir, cfg.control_socket),
    tunnel_network: `${formatIPv4(networkOf(tunnel))}/${tunnel.prefix}`,
    source,
    tunnel_address: formatIPv4(firstHost(tunnel)),
  };
}

/** Loads the HQ config YAML; relative paths in it are relative to the file. Throws InputError naming the field. */
/** Reads and checks the config; `keys: false` leaves its key files unread (`roamlink hq identity import` writes them). */
export async function loadHqConfig(path: string, o: { keys?: boolean } = {}): Promise<HqConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, '--config');
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new InputError(`${path}: not valid YAML: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
  }
  if (doc !== null && doc !== undefined && (typeof doc !== 'object' || Array.isArray(doc))) {
    throw new InputError(`${path}: expected a mapping of settings`);
  }
  const cfg = checkHqConfig(doc, path, dirname(resolve(path)));
  if (o.keys === false) return cfg;
  try {
    await readPrivateKeyFile(cfg.private_key_file);
    if (cfg.admin_listen && cfg.admin_tls) await loadAdminTls(cfg.admin_tls);
  } catch (err) {
    if (err instanceof InputError) throw new InputError(`${path}: ${err.message}`);
    throw err;
  }
  return cfg;
}
