// Level-triggered programming of WireGuard peers and routes: read what is, compute the plan, apply it one change at a time.
import type { Logger } from '../../shared/log.js';
import type { WgDriver } from '../../shared/wg.js';
import { isOurs, type RoutesDriver } from '../routes.js';
import { describe, plan, type Change, type NetState } from './diff.js';

export interface AppliedChange {
  change: Change;
  ok: boolean;
  error?: string;
}

export interface ReconcileResult {
  at: string;
  ok: boolean;
  /** Every change attempted, in order; empty when nothing differed. */
  changes: AppliedChange[];
  /** Set when the current state could not be read (then nothing was attempted). */
  error?: string;
}

export interface ReconcilerOptions {
  ifname: string;
  netns?: string;
  wg: WgDriver;
  routes: RoutesDriver;
  /** The desired state, read afresh at every pass (from the registry). */
  desired: () => NetState;
  log: Logger;
  now?: () => Date;
}

/**
 * Brings the interface to the desired state. reconcile() may be called at any time and as often as wanted: passes
 * never overlap, and calls made during a pass share the one pass that follows it.
 */
export class Reconciler {
  last: ReconcileResult | null = null;
  private running: Promise<ReconcileResult> | null = null;
  private queued: Promise<ReconcileResult> | null = null;

  constructor(private readonly o: ReconcilerOptions) {}

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
    try {
      changes = plan(await this.current(), this.o.desired());
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      this.o.log.error({ err: error }, 'reconcile: cannot read the current state');
      return (this.last = { at, ok: false, changes: [], error });
    }
    const applied: AppliedChange[] = [];
    for (const change of changes) {
      try {
        await this.apply(change);
        applied.push({ change, ok: true });
        this.o.log.info({ change }, describe(change));
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        applied.push({ change, ok: false, error });
        this.o.log.error({ change, err: error }, `failed: ${describe(change)}`);
      }
    }
    const result: ReconcileResult = { at, ok: applied.every((a) => a.ok), changes: applied };
    this.o.log.info({ changes: applied.length, ok: result.ok }, 'reconciled');
    return (this.last = result);
  }

  private async apply(c: Change): Promise<void> {
    const { ifname } = this.o;
    const opts = { netns: this.o.netns };
    switch (c.kind) {
      case 'peer.remove':
        return this.o.wg.removePeer(ifname, c.publicKey, opts);
      case 'peer.set':
        return this.o.wg.setPeer(ifname, { publicKey: c.publicKey, allowedIps: c.allowedIps }, opts);
      case 'route.remove':
        return this.o.routes.remove(c.dst, ifname, opts);
      case 'route.replace':
        return this.o.routes.replace(c.dst, ifname, opts);
    }
  }
}
