// A thin typed wrapper of iproute2 (`ip`, JSON output where it has it), bound to one network namespace.
import { CommandError, run as defaultRun, withNetns, type Runner } from './exec.js';

export interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  prefsrc?: string;
  protocol?: string;
  scope?: string;
  table?: string;
  flags?: string[];
}

export interface IpRule {
  priority: number;
  src?: string;
  srclen?: number;
  fwmark?: string;
  table: string;
}

export interface IpAddr {
  ifname: string;
  operstate: string;
  flags: string[];
  addrs: Array<{ local: string; prefixlen: number }>;
}

export interface RouteSpec {
  dst: string; // "default" or CIDR
  via?: string;
  dev?: string;
  src?: string;
  table?: number | string;
  metric?: number;
  onlink?: boolean;
}

export interface RuleSpec {
  priority: number;
  table: number | string;
  from?: string;
  fwmark?: number;
}

function routeArgs(r: RouteSpec): string[] {
  const a = [r.dst];
  if (r.via) a.push('via', r.via);
  if (r.dev) a.push('dev', r.dev);
  if (r.src) a.push('src', r.src);
  if (r.table !== undefined) a.push('table', String(r.table));
  if (r.metric !== undefined) a.push('metric', String(r.metric));
  if (r.onlink) a.push('onlink');
  return a;
}

function ruleArgs(r: RuleSpec): string[] {
  const a = ['priority', String(r.priority)];
  if (r.from) a.push('from', r.from);
  if (r.fwmark !== undefined) a.push('fwmark', `0x${r.fwmark.toString(16)}`);
  a.push('lookup', String(r.table));
  return a;
}

export class Ip {
  constructor(
    readonly netns?: string,
    private readonly runner: Runner = defaultRun,
  ) {}

  private ip(args: string[], opts: { allowFail?: boolean; signal?: AbortSignal } = {}) {
    return this.runner(['ip', ...args], { netns: this.netns, ...opts });
  }

  async links(): Promise<IpAddr[]> {
    const r = await this.ip(['-j', 'addr', 'show']);
    const raw = JSON.parse(r.stdout || '[]') as Array<{ ifname: string; operstate: string; flags: string[]; addr_info?: Array<{ family: string; local: string; prefixlen: number }> }>;
    return raw.map((l) => ({
      ifname: l.ifname,
      operstate: l.operstate,
      flags: l.flags ?? [],
      addrs: (l.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => ({ local: a.local, prefixlen: a.prefixlen })),
    }));
  }

  async setUp(dev: string, up = true): Promise<void> {
    await this.ip(['link', 'set', 'dev', dev, up ? 'up' : 'down']);
  }

  async addrReplace(dev: string, cidr: string): Promise<void> {
    await this.ip(['addr', 'replace', cidr, 'dev', dev]);
  }

  async addrFlush(dev: string): Promise<void> {
    await this.ip(['addr', 'flush', 'dev', dev], { allowFail: true });
  }

  async routeReplace(r: RouteSpec): Promise<void> {
    await this.ip(['route', 'replace', ...routeArgs(r)]);
  }

  async routeDel(r: RouteSpec): Promise<void> {
    await this.ip(['route', 'del', ...routeArgs(r)], { allowFail: true });
  }

  async routeFlushTable(table: number | string): Promise<void> {
    await this.ip(['route', 'flush', 'table', String(table)], { allowFail: true });
  }

  async routes(table: number | string = 'main'): Promise<IpRoute[]> {
    const r = await this.ip(['-j', 'route', 'show', 'table', String(table)], { allowFail: true });
    return r.exitCode === 0 && r.stdout.trim() ? (JSON.parse(r.stdout) as IpRoute[]) : [];
  }

  async rules(): Promise<IpRule[]> {
    const r = await this.ip(['-j', 'rule', 'show']);
    return JSON.parse(r.stdout || '[]') as IpRule[];
  }

  /**
   * Adds the rule unless an identical one is there (rules, unlike routes, have no `replace`). Never removes it, even
   * for a moment: an uplink's rules carry the tunnel, and its lease is re-applied on every renew. `ip rule add` asks
   * for an exclusive create, so the kernel answers an identical rule with EEXIST (measured, 6.18, iproute2 6.1).
   */
  async ruleEnsure(rule: RuleSpec): Promise<void> {
    const argv = ['rule', 'add', ...ruleArgs(rule)];
    const r = await this.ip(argv, { allowFail: true });
    if (r.exitCode !== 0 && !/File exists/.test(r.stderr)) {
      throw new CommandError(withNetns(this.netns, ['ip', ...argv]), r.exitCode, r.stderr, r.stdout);
    }
  }

  async ruleDel(rule: RuleSpec): Promise<void> {
    await this.ip(['rule', 'del', ...ruleArgs(rule)], { allowFail: true });
  }
}
