// Keeps the agent's site profiles current: the last good set from disk at start, then HQ's set whenever its version
// changes (polled, and at once when a heartbeat reply says so). An invalid set from HQ is ignored; the last good one stays.
import type { Logger } from '../../shared/log.js';
import { siteSetSchema, type SiteSet } from '../../shared/wire/site-profile.js';
import type { Timer } from '../../shared/clock.js';
import type { SiteSetStore } from './store.js';

export interface SiteSyncDeps {
  /** HQ's set (unvalidated), or 'unchanged' when HQ's version is `version`. */
  fetch: (version: number | null, signal: AbortSignal) => Promise<unknown | 'unchanged'>;
  store: SiteSetStore;
  timer: Timer;
  /** Polling interval (heartbeat replies bring changes sooner). */
  intervalMs: number;
  /** A new set to apply (the arbiter applies its profile without a restart). */
  onChange: (set: SiteSet) => void;
  log?: Pick<Logger, 'info' | 'warn'>;
}

export class SiteSync {
  private cur: SiteSet | null = null;
  private handle: unknown = null;
  private inflight: Promise<void> | null = null;
  private hinted: number | null = null; // a version HQ told of while a fetch was out
  private stopped = false;
  private readonly ac = new AbortController();

  constructor(private readonly d: SiteSyncDeps) {}

  /** The set applied now (null: none yet). */
  get current(): SiteSet | null {
    return this.cur;
  }

  /** Applies the last good set from disk at once, then asks HQ. */
  start(): void {
    const saved = this.d.store.load();
    if (saved) {
      this.cur = saved;
      this.d.log?.info({ event: 'sites.loaded', version: saved.version, sites: saved.sites.length }, `site profiles version ${saved.version} from disk`);
      this.d.onChange(saved);
    }
    this.poll();
  }

  /** HQ says its version is `version` (a heartbeat reply): fetch now if ours differs. A hint while a fetch is out
   *  is kept, and fetched again as that one ends unless it brought the version: the fetch out may have been answered
   *  before the change (or be waiting on a tunnel not up yet), and dropping the hint left the change to the next poll. */
  hint(version: number): void {
    if (this.stopped || version === this.cur?.version) return;
    if (this.inflight) {
      this.hinted = version;
      return;
    }
    this.d.timer.clear(this.handle);
    this.poll();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.d.timer.clear(this.handle);
    this.ac.abort();
    await this.inflight?.catch(() => {});
  }

  private poll(): void {
    if (this.stopped) return;
    this.handle = null;
    this.inflight = (async () => {
      try {
        const got = await this.d.fetch(this.cur?.version ?? null, this.ac.signal);
        if (got !== 'unchanged') this.take(got);
      } catch (err) {
        if (!this.stopped) this.d.log?.warn({ event: 'sites.unreachable', err: (err as Error).message }, `site profiles: HQ not reachable; keeping version ${this.cur?.version ?? 'none'}`);
      } finally {
        this.inflight = null;
        const hinted = this.hinted;
        this.hinted = null;
        if (!this.stopped) {
          if (hinted !== null && hinted !== this.cur?.version) this.poll();
          else this.handle = this.d.timer.set(() => this.poll(), this.d.intervalMs);
        }
      }
    })();
  }

  private take(got: unknown): void {
    const r = siteSetSchema.safeParse(got);
    if (!r.success) {
      const i = r.error.issues[0]!;
      this.d.log?.warn({ event: 'sites.invalid', field: i.path.join('.'), err: i.message }, `site profiles from HQ are invalid (${i.path.join('.')}: ${i.message}); keeping the last good set`);
      return;
    }
    if (r.data.version === this.cur?.version) return;
    try {
      this.d.store.save(r.data);
    } catch (err) {
      // Applied all the same: only a restart while HQ is out of reach would fall back to the older set on disk.
      this.d.log?.warn({ event: 'sites.file', err: (err as Error).message }, `site profiles version ${r.data.version}: cannot save them (${(err as Error).message}); applied, not kept across a restart`);
    }
    this.cur = r.data;
    this.d.log?.info({ event: 'sites.applied', version: r.data.version, sites: r.data.sites.length }, `site profiles version ${r.data.version} applied`);
    this.d.onChange(r.data);
  }
}
