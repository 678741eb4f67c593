// Level-triggered programming of WireGuard peers and routes: read what is, compute the plan, apply it (large passes in batches).
import { realClock } from '../../shared/clock.js';
import type { Logger } from '../../shared/log.js';
import type { WgDriver } from '../../shared/wg.js';
import { isOurs, type RoutesDriver } from '../routes.js';
import { BATCH_THRESHOLD, changeKey, describe, plan, renderBatch, shouldBatch, type Change, type NetState } from './diff.js';
import { createPeersBatch, type PeersBatchDriver } from './wg.addconf.js';

export interface AppliedChange {
  change: Change;
  ok: boolean;
  error?: string;
  /** Set when the change landed through a batch (`wg addconf`, `ip -batch`) rather than a command of its own. */
  batched?: true;
}

export interface ReconcileResult {
  at: string;
  ok: boolean;
  /** Every change attempted, in order; empty when nothing differed. */
  changes: AppliedChange[];
  /**
   * Set when the current state could not be read: before the pass (then nothing was attempted), or after a batch
   * (then the batched changes are reported failed, not verified; the next pass reads again).
   */
  error?: string;
}

export interface ReconcilerOptions {
  ifname: string;
  netns?: string;
  wg: WgDriver;
  routes: RoutesDriver;
  /** `wg addconf`, for batches; absent: the real one, through shared/exec's runner. */
  peersBatch?: PeersBatchDriver;
  /** The desired state, read afresh at every pass (from the registry). */
  desired: () => NetState | Promise<NetState>;
  /** A pass setting or adding more than this many peers and routes is batched (the first pass always is). */
  batchThreshold?: number;
  log: Logger;
  now?: () => Date;
}

/**
 * Brings the interface to the desired state. reconcile() may be called at any time and as often as wanted: passes
 * never overlap, and calls made during a pass share the one pass that follows it.
 *
 * A pass applies its plan one change at a time (one `wg set` or `ip route` each, every failure reported alone),
 * except the first pass and a pass with many sets and adds: those go in batches (one `wg addconf` for the peers, one
 * `ip -force -batch` per ROUTE_BATCH_LINES routes), then the state is read again and whatever still differs is
 * applied one change at a time, so a bad entry is still reported by itself. Removals are never batched.
 */
export class Reconciler {
  last: ReconcileResult | null = null;
  private running: Promise<ReconcileResult> | null = null;
  private queued: Promise<ReconcileResult> | null = null;
  /** Whether a pass has read the state and applied its plan (until then, the next pass is the start: batched). */
  private started = false;
  private readonly peersBatch: PeersBatchDriver;

  constructor(private readonly o: ReconcilerOptions) {
    this.peersBatch = o.peersBatch ?? createPeersBatch();
  }

  reconcile(): Promise<ReconcileResult> {
    if (!this.running) {
      this.running = this.pass().finally(() => {
        this.running = null;
      });
      return this.running;
    }
    if (!this.queued) {
      this.queued = this.running.then(
        () => this.next(),
        () => this.next(),
      );
    }
    return this.queued;
  }

  private next(): Promise<ReconcileResult> {
    this.queued = null;
    return this.reconcile();
  }

  /** What is programmed now: the interface's peers and the routes we own on it. */
  async current(): Promise<NetState> {
    const opts = { netns: this.o.netns };
    const [shown, routes] = await Promise.all([this.o.wg.show(this.o.ifname, opts), this.o.routes.list(this.o.ifname, opts)]);
    return {
      peers: shown.peers.map((p) => ({ publicKey: p.publicKey, allowedIps: p.allowedIps })),
      routes: routes.filter(isOurs).map((r) => r.dst),
    };
  }

  private async pass(): Promise<ReconcileResult> {
    const at = (this.o.now ?? (() => new Date()))().toISOString();
    let changes: Change[];
    let desired: NetState;
    try {
      desired = await this.o.desired();
      changes = plan(await this.current(), desired);
    } catch (err) {
      const error = message(err);
      this.o.log.error({ err: error }, 'reconcile: cannot read the current state');
      return (this.last = { at, ok: false, changes: [], error });
    }
    const first = !this.started;
    this.started = true;
    let applied: AppliedChange[];
    let error: string | undefined;
    if (shouldBatch(changes, first, this.o.batchThreshold ?? BATCH_THRESHOLD)) ({ applied, error } = await this.batched(changes, desired));
    else applied = await this.oneByOne(changes);
    const result: ReconcileResult = { at, ok: error === undefined && applied.every((a) => a.ok), changes: applied, ...(error !== undefined ? { error } : {}) };
    this.o.log.info({ changes: applied.length, ok: result.ok }, 'reconciled');
    return (this.last = result);
  }

  private async oneByOne(changes: readonly Change[]): Promise<AppliedChange[]> {
    const applied: AppliedChange[] = [];
    for (const change of changes) {
      try {
        await this.apply(change);
        applied.push({ change, ok: true });
        this.o.log.info({ change }, describe(change));
      } catch (err) {
        const error = message(err);
        applied.push({ change, ok: false, error });
        this.o.log.error({ change, err: error }, `failed: ${describe(change)}`);
      }
    }
    return applied;
  }

  /**
   * Removals one at a time, then the batch, then the state read again: what the batch did not bring to the desired
   * state (a line the kernel refused, a file wg refused, an entry that could not be rendered) is applied one change
   * at a time and reported as such.
   */
  private async batched(changes: readonly Change[], desired: NetState): Promise<{ applied: AppliedChange[]; error?: string }> {
    const { ifname } = this.o;
    const opts = { netns: this.o.netns };
    const b = renderBatch(changes, ifname);
    const applied = await this.oneByOne(b.removals);
    const started = realClock.now();
    if (b.peersConf !== '') {
      await this.peersBatch.addconf(ifname, b.peersConf, opts).catch((err: unknown) => {
        this.o.log.warn({ err: message(err) }, 'batch: wg addconf failed; its peers are retried one at a time');
      });
    }
    for (const script of b.routeScripts) {
      const r = await this.o.routes.batch(script, opts).catch((err: unknown) => ({ ok: false, errors: message(err) }));
      if (!r.ok) this.o.log.warn({ err: r.errors.split('\n').slice(0, 10).join('\n') }, 'batch: ip -batch reported failed lines; they are retried one at a time');
    }
    const batchMs = Math.round(realClock.now() - started);
    if (b.batched.length === 0 && b.unbatchable.length === 0) return { applied };

    let left: Change[];
    try {
      left = plan(await this.current(), desired);
    } catch (err) {
      const error = `cannot read the state after the batch: ${message(err)}`;
      this.o.log.error({ err: error }, 'reconcile: batch applied, not verified');
      return { applied: [...applied, ...b.batched.map((change) => ({ change, ok: false, error }))], error };
    }
    // A removal that failed above is still in the plan: it was tried and reported once, that is enough for this pass.
    const removed = new Set(b.removals.map(changeKey));
    left = left.filter((c) => !removed.has(changeKey(c)));
    const retry = new Set(left.map(changeKey));
    const landed = b.batched.filter((c) => !retry.has(changeKey(c)));
    for (const change of landed) {
      applied.push({ change, ok: true, batched: true });
      this.o.log.debug({ change }, describe(change));
    }
    const peers = landed.filter((c) => c.kind === 'peer.set').length;
    this.o.log.info({ peers, routes: landed.length - peers, ms: batchMs, left: left.length }, `batch: ${peers} peers and ${landed.length - peers} routes in ${batchMs} ms, ${left.length} changes left for one at a time`);
    return { applied: [...applied, ...(await this.oneByOne(left))] };
  }

  private async apply(c: Change): Promise<void> {
    const { ifname } = this.o;
    const opts = { netns: this.o.netns };
    switch (c.kind) {
      case 'peer.remove':
        return this.o.wg.removePeer(ifname, c.publicKey, opts);
      case 'peer.set':
        return this.o.wg.setPeer(ifname, { publicKey: c.publicKey, allowedIps: c.allowedIps, ...(c.endpoint !== undefined ? { endpoint: c.endpoint } : {}) }, opts);
      case 'route.remove':
        return this.o.routes.remove(c.dst, ifname, opts);
      case 'route.replace':
        return this.o.routes.replace(c.dst, ifname, opts);
    }
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
