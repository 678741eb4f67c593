// How roamlink builds and applies an nftables ruleset, the one definition both daemons use (wg-quick's way): a table
// of our own, written whole as one `nft -f -` script (one transaction: a packet sees the old rules or the new ones),
// created anew (the leading `table …; delete table …` makes it idempotent), changed by scripts of commands, and
// removed by deleting it.
import { run as defaultRun, type RunResult, type Runner } from './exec.js';

export interface NftTable {
  family: 'ip' | 'inet';
  name: string;
}

/** `family name`, as nft commands name the table. */
export const nftTableName = (t: NftTable) => `${t.family} ${t.name}`;

/** The table created anew with `body` (its chains, sets and counters, indented) inside its braces. Pure. */
export function nftTableScript(t: NftTable, body: readonly string[]): string {
  const n = nftTableName(t);
  return [`table ${n}`, `delete table ${n}`, `table ${n} {`, ...body, '}'].join('\n') + '\n';
}

/** The table deleted; a missing one is created first, so the script never fails for it. Pure. */
export function nftRemoveScript(t: NftTable): string {
  const n = nftTableName(t);
  return `table ${n}\ndelete table ${n}\n`;
}

/** Commands (`flush chain …`, `add rule …`) as one script. Pure. */
export function nftCommandsScript(lines: readonly string[]): string {
  return lines.join('\n') + '\n';
}

export interface NftRunOptions {
  run?: Runner;
  netns?: string;
  signal?: AbortSignal;
  /** Return nft's exit and complaint instead of throwing. */
  allowFail?: boolean;
}

/** Runs a script as one transaction (`nft -f -`, the script on stdin). */
export function nftApply(script: string, o: NftRunOptions = {}): Promise<RunResult> {
  return (o.run ?? defaultRun)(['nft', '-f', '-'], { input: script, netns: o.netns, signal: o.signal, allowFail: o.allowFail ?? false });
}

/** Packets and bytes of a table's named counters whose name starts with `prefix`, keyed by the rest of the name, from
 *  `nft -j list counters table ...` (pure). */
export function countersByPrefix(json: string, prefix: string): Record<string, { packets: number; bytes: number }> {
  const doc = JSON.parse(json) as { nftables?: Array<{ counter?: { name?: string; packets?: number; bytes?: number } }> };
  const out: Record<string, { packets: number; bytes: number }> = {};
  for (const o of doc.nftables ?? []) {
    const c = o.counter;
    if (c?.name?.startsWith(prefix)) out[c.name.slice(prefix.length)] = { packets: c.packets ?? 0, bytes: c.bytes ?? 0 };
  }
  return out;
}
