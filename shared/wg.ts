// The `wg` wrapper: keys, WireGuard interfaces (kernel module or wireguard-go) and their peers, all through the Runner.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run as defaultRun, type Runner, type RunOptions } from './exec.js';
import { InputError } from './errors.js';

// Keys and names (pure) live in wg.keys.ts, which loads without execa (the configs' validators use them).
export { assertIfName, assertWgKey, isIfName, isWgKey, publicKeyOf } from './wg.keys.js';
import { assertIfName, assertWgKey } from './wg.keys.js';

/** Where wireguard-go listens for `wg`: machine-wide, whatever the namespace, hence names unique machine-wide. */
export function wireguardGoSocket(ifname: string): string {
  return `/run/wireguard/${ifname}.sock`;
}

// ---------------------------------------------------------------------------------------------------------------
// `wg show IF dump` (pure parser)

export interface WgInterfaceStatus {
  /** null when no private key is set. The private key itself is never kept. */
  publicKey: string | null;
  hasPrivateKey: boolean;
  /** 0 when not listening yet. */
  listenPort: number;
  /** null when off. */
  fwmark: number | null;
}

export interface WgPeerStatus {
  publicKey: string;
  hasPresharedKey: boolean;
  /** "ip:port" or "[ipv6]:port" as wg prints it; null when none is known yet. */
  endpoint: string | null;
  allowedIps: string[];
  /** Unix seconds of the latest handshake; null when there has been none. */
  latestHandshake: number | null;
  rxBytes: number;
  txBytes: number;
  /** Persistent keepalive in seconds; null when off. */
  keepalive: number | null;
}

export interface WgShow {
  interface: WgInterfaceStatus;
  peers: WgPeerStatus[];
}

function none(v: string): boolean {
  return v === '(none)';
}

function int(v: string, what: string, lineNo: number): number {
  if (!/^\d+$/.test(v)) throw new Error(`wg dump line ${lineNo}: ${what} is not a number: "${v}"`);
  return Number(v);
}

function parseInterfaceFields(f: string[], lineNo: number): WgInterfaceStatus {
  const [priv, pub, port, fwmark] = f as [string, string, string, string];
  return {
    publicKey: none(pub) ? null : pub,
    hasPrivateKey: !none(priv),
    listenPort: int(port, 'listen-port', lineNo),
    fwmark: fwmark === 'off' ? null : fwmark.startsWith('0x') ? parseInt(fwmark.slice(2), 16) : int(fwmark, 'fwmark', lineNo),
  };
}

function parsePeerFields(f: string[], lineNo: number): WgPeerStatus {
  const [pub, psk, endpoint, allowed, hs, rx, tx, ka] = f as [string, string, string, string, string, string, string, string];
  const handshake = int(hs, 'latest-handshake', lineNo);
  return {
    publicKey: pub,
    hasPresharedKey: !none(psk),
    endpoint: none(endpoint) ? null : endpoint,
    allowedIps: none(allowed) || allowed === '' ? [] : allowed.split(','),
    latestHandshake: handshake === 0 ? null : handshake,
    rxBytes: int(rx, 'transfer-rx', lineNo),
    txBytes: int(tx, 'transfer-tx', lineNo),
    keepalive: ka === 'off' || ka === '0' ? null : int(ka, 'persistent-keepalive', lineNo),
  };
}

function dumpLines(text: string): Array<[string[], number]> {
  return text
    .split('\n')
    .map((l, i): [string, number] => [l.replace(/\r$/, ''), i + 1])
    .filter(([l]) => l.trim() !== '')
    .map(([l, n]) => [l.split('\t'), n]);
}

/** Parses `wg show IF dump`: the interface line (4 fields) then one line per peer (8 fields). */
export function parseWgDump(text: string): WgShow {
  const lines = dumpLines(text);
  if (lines.length === 0) throw new Error('wg dump: empty output');
  const [[first, firstNo], ...rest] = lines as [[string[], number], ...Array<[string[], number]>];
  if (first.length !== 4) throw new Error(`wg dump line ${firstNo}: expected 4 interface fields, got ${first.length}`);
  const peers = rest.map(([f, n]) => {
    if (f.length !== 8) throw new Error(`wg dump line ${n}: expected 8 peer fields, got ${f.length}`);
    return parsePeerFields(f, n);
  });
  return { interface: parseInterfaceFields(first, firstNo), peers };
}

/** Parses `wg show all dump`: the same lines, each prefixed by the interface name. */
export function parseWgDumpAll(text: string): Map<string, WgShow> {
  const out = new Map<string, WgShow>();
  for (const [[ifname, ...f], n] of dumpLines(text)) {
    if (f.length === 4) out.set(ifname!, { interface: parseInterfaceFields(f, n), peers: [] });
    else if (f.length === 8) {
      const entry = out.get(ifname!);
      if (!entry) throw new Error(`wg dump line ${n}: peer of ${ifname} before its interface line`);
      entry.peers.push(parsePeerFields(f, n));
    } else throw new Error(`wg dump line ${n}: expected 5 or 9 fields, got ${f.length + 1}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The driver

export type WgImplementation = 'kernel' | 'wireguard-go';

export interface WgCallOptions {
  /** Network namespace of the interface. */
  netns?: string;
  signal?: AbortSignal;
}

export interface CreateInterfaceOptions extends WgCallOptions {
  /** 'auto' (default) tries the kernel module and falls back to wireguard-go. */
  implementation?: 'auto' | WgImplementation;
}

export interface CreatedInterface {
  implementation: WgImplementation;
  /** false when a WireGuard interface of that name was already there (it is reused as it is). */
  created: boolean;
}

export interface WgPeerSpec {
  publicKey: string;
  /** Replaces the peer's allowed-ips; [] removes them all. */
  allowedIps: string[];
  /** "ip:port"; left unchanged when absent. */
  endpoint?: string;
  /** Seconds, 0 for off; left unchanged when absent. */
  keepalive?: number;
}

/**
 * What the daemons ask of WireGuard. Every call may be repeated with the same arguments (idempotent), takes the
 * namespace and an AbortSignal, and starts no timer of its own. Keys never go through argv: stdin, or a 0600 file.
 */
export interface WgDriver {
  genKey(opts?: WgCallOptions): Promise<string>;
  pubKey(privateKey: string, opts?: WgCallOptions): Promise<string>;
  /** Creates NAME (kernel module when present, else wireguard-go), or reuses a WireGuard interface NAME. */
  createInterface(name: string, opts?: CreateInterfaceOptions): Promise<CreatedInterface>;
  /** Deletes NAME if present; stops the wireguard-go serving it and removes its socket. */
  deleteInterface(name: string, opts?: WgCallOptions): Promise<void>;
  setPrivateKey(ifname: string, privateKey: string, opts?: WgCallOptions): Promise<void>;
  setListenPort(ifname: string, port: number, opts?: WgCallOptions): Promise<void>;
  /** null or 0 turns the fwmark off. */
  setFwmark(ifname: string, mark: number | null, opts?: WgCallOptions): Promise<void>;
  setPeer(ifname: string, peer: WgPeerSpec, opts?: WgCallOptions): Promise<void>;
  /** Removing a peer that is not there is not an error. */
  removePeer(ifname: string, publicKey: string, opts?: WgCallOptions): Promise<void>;
  show(ifname: string, opts?: WgCallOptions): Promise<WgShow>;
}

/**
 * Hands a secret to a command as a file path: `wg set … private-key` wants a file it can fopen(), and the Runner's
 * stdin is a socket, which `/dev/stdin` cannot open (ENXIO, measured 2026-11). The file lives in a fresh 0700
 * directory (on tmpfs under /run when writable), mode 0600, and is removed as soon as the command returns.
 */
export async function withSecretFile<T>(secret: string, fn: (path: string) => Promise<T>): Promise<T> {
  let dir: string;
  try {
    dir = await mkdtemp('/run/roamlink-secret-');
  } catch {
    dir = await mkdtemp(join(tmpdir(), 'roamlink-secret-'));
  }
  try {
    const path = join(dir, 'key');
    await writeFile(path, secret, { mode: 0o600 });
    return await fn(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function ro(opts: WgCallOptions | undefined, extra: Partial<RunOptions> = {}): RunOptions {
  return { netns: opts?.netns, signal: opts?.signal, ...extra };
}

export interface WgOptions {
  /**
   * Start wireguard-go in a systemd scope of its own (`systemd-run --scope`), outside the calling unit's cgroup, so
   * that restarting the unit (which kills its whole cgroup) leaves the tunnel running. For a daemon under systemd.
   */
  ownScope?: boolean;
  /**
   * Run wireguard-go as this user with CAP_NET_ADMIN only (setpriv): for a root launcher (the agent unit's
   * ExecStartPre=+) starting it for a daemon that runs unprivileged and cannot ask systemd for a scope itself.
   */
  runAs?: string;
}

/** setpriv's argv: USER's uid, gid and groups, CAP_NET_ADMIN as the only capability (kept across exec: ambient). */
export function dropToUser(user: string): string[] {
  if (!/^[a-z_][a-z0-9_-]*$/.test(user)) throw new InputError(`"${user}" is not a user name`, 'user');
  return ['setpriv', `--reuid=${user}`, `--regid=${user}`, '--init-groups', '--inh-caps=-all,+net_admin', '--ambient-caps=-all,+net_admin', '--bounding-set=-all,+net_admin'];
}

/** The scope wireguard-go runs in under systemd (WgOptions.ownScope). */
export function wireguardGoScope(name: string): string {
  return `roamlink-wg-${name}.scope`;
}

export function createWg(run: Runner = defaultRun, wgOpts: WgOptions = {}): WgDriver {
  const wgSet = async (ifname: string, args: string[], opts?: WgCallOptions) => {
    assertIfName(ifname, 'interface');
    await run(['wg', 'set', ifname, ...args], ro(opts));
  };

  /** The implementation behind an existing interface, or null when NAME does not exist (throws if not WireGuard). */
  const existing = async (name: string, opts?: WgCallOptions): Promise<WgImplementation | null> => {
    const r = await run(['ip', '-d', '-j', 'link', 'show', 'dev', name], ro(opts, { allowFail: true }));
    if (r.exitCode !== 0) return null;
    let kind: string | undefined;
    try {
      kind = (JSON.parse(r.stdout) as Array<{ linkinfo?: { info_kind?: string } }>)[0]?.linkinfo?.info_kind;
    } catch {
      kind = undefined;
    }
    if (kind === 'wireguard') return 'kernel';
    const probe = await run(['wg', 'show', name, 'public-key'], ro(opts, { allowFail: true }));
    if (probe.exitCode === 0) return 'wireguard-go';
    throw new Error(`interface ${name} exists and is not a WireGuard interface`);
  };

  return {
    async genKey(opts) {
      const r = await run(['wg', 'genkey'], ro(opts));
      return assertWgKey(r.stdout, 'wg genkey', false);
    },

    async pubKey(privateKey, opts) {
      const priv = assertWgKey(privateKey, 'private key', false);
      const r = await run(['wg', 'pubkey'], ro(opts, { input: `${priv}\n` }));
      return assertWgKey(r.stdout, 'wg pubkey');
    },

    async createInterface(name, opts = {}) {
      assertIfName(name, 'interface');
      const already = await existing(name, opts);
      if (already) return { implementation: already, created: false };
      const want = opts.implementation ?? 'auto';
      if (want !== 'wireguard-go') {
        const r = await run(['ip', 'link', 'add', 'dev', name, 'type', 'wireguard'], ro(opts, { allowFail: true }));
        if (r.exitCode === 0) return { implementation: 'kernel', created: true };
        if (want === 'kernel') throw new Error(`cannot create WireGuard interface ${name} with the kernel module: ${r.stderr.trim()}`);
      }
      // wireguard-go daemonizes (unless WG_PROCESS_FOREGROUND is set, hence env -u): it returns once the tun
      // device and its control socket exist, and the forked child serves them.
      const scope = wgOpts.ownScope ? ['systemd-run', '--scope', '--quiet', '--collect', `--unit=${wireguardGoScope(name)}`, `--description=roamlink tunnel ${name} (wireguard-go)`] : [];
      const as = wgOpts.runAs ? dropToUser(wgOpts.runAs) : [];
      await run([...scope, ...as, 'env', '-u', 'WG_PROCESS_FOREGROUND', 'wireguard-go', name], ro(opts));
      return { implementation: 'wireguard-go', created: true };
    },

    async deleteInterface(name, opts) {
      assertIfName(name, 'interface');
      const r = await run(['ip', 'link', 'del', 'dev', name], ro(opts, { allowFail: true }));
      if (r.exitCode !== 0 && !/Cannot find device|does not exist/i.test(r.stderr)) {
        throw new Error(`cannot delete interface ${name}: ${r.stderr.trim()}`);
      }
      // wireguard-go exits by itself once its tun device is gone; stop it in case it has not yet (or is stuck).
      // Its name is unique machine-wide, so its exact command line designates it (pgrep takes a regex: escape . and +).
      const pattern = `wireguard-go ${name.replace(/[.+]/g, '\\$&')}`;
      const p = await run(['pgrep', '-x', '-f', pattern], { signal: opts?.signal, allowFail: true });
      for (const pid of p.stdout.split(/\s+/).filter((s) => /^\d+$/.test(s))) {
        await run(['kill', '-TERM', pid], { signal: opts?.signal, allowFail: true });
      }
      await run(['rm', '-f', wireguardGoSocket(name)], { signal: opts?.signal });
    },

    async setPrivateKey(ifname, privateKey, opts) {
      const priv = assertWgKey(privateKey, 'private key', false);
      await withSecretFile(`${priv}\n`, (path) => wgSet(ifname, ['private-key', path], opts));
    },

    async setListenPort(ifname, port, opts) {
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InputError(`${port} is not a port (0-65535)`, 'listen_port');
      await wgSet(ifname, ['listen-port', String(port)], opts);
    },

    async setFwmark(ifname, mark, opts) {
      if (mark !== null && (!Number.isInteger(mark) || mark < 0 || mark > 0xffffffff)) throw new InputError(`${mark} is not a 32-bit mark`, 'fwmark');
      await wgSet(ifname, ['fwmark', mark ? `0x${mark.toString(16)}` : 'off'], opts);
    },

    async setPeer(ifname, peer, opts) {
      const pub = assertWgKey(peer.publicKey, 'public key');
      const args = ['peer', pub, 'allowed-ips', peer.allowedIps.join(',')];
      if (peer.endpoint !== undefined) args.push('endpoint', peer.endpoint);
      if (peer.keepalive !== undefined) args.push('persistent-keepalive', peer.keepalive > 0 ? String(peer.keepalive) : 'off');
      await wgSet(ifname, args, opts);
    },

    async removePeer(ifname, publicKey, opts) {
      await wgSet(ifname, ['peer', assertWgKey(publicKey, 'public key'), 'remove'], opts);
    },

    async show(ifname, opts) {
      assertIfName(ifname, 'interface');
      const r = await run(['wg', 'show', ifname, 'dump'], ro(opts));
      return parseWgDump(r.stdout);
    },
  };
}
