// The agents' API's callers answered from memory: the registry's active tunnel address -> vehicle map, read whole and
// trusted only while the store's change feed (a RegistryWatch) says nothing changed since it was read.
import { sql } from 'kysely';
import type { StoreDb } from '../sql.js';

/**
 * How a process learns that the registry may have changed under it (another connection's commit: the CLI, the other
 * concentrator). `version()` is a number that differs after any such change, or null when it cannot be known now (the
 * feed is down): a map read at another version, or while null, is not trusted. The contract a cached lookup needs:
 * a change committed before `version()` returned either shows in a read started after it, or makes a later
 * `version()` differ.
 */
export interface RegistryWatch {
  version(): number | null | Promise<number | null>;
  close(): Promise<void>;
}

/**
 * SQLite: `PRAGMA data_version` of the registry's connection, which changes when any other connection (another
 * process: the CLI, a second HQ on the same file) commits to the file; read on every lookup (in process, a few µs,
 * as the SELECT it replaces). This connection's own commits do not change it: VehicleService tells the cache itself.
 */
export function sqliteRegistryWatch(store: StoreDb): RegistryWatch {
  return {
    version: async () => (await sql<{ data_version: number }>`PRAGMA data_version`.execute(store.db)).rows[0]!.data_version,
    close: async () => {},
  };
}

export interface CallerStats {
  /** Lookups answered from the map. */
  hits: number;
  /** Lookups that went to the store (no map yet, a change seen, the feed down). */
  misses: number;
  /** Times the map was read whole. */
  loads: number;
}

type Lookup = (address: string) => Promise<{ name: string } | null>;
/** Reads the whole map: every active vehicle's tunnel address and name. */
export type ReadCallers = () => Promise<Array<{ name: string; tunnel_address: string }>>;

/** The registry's active callers, read from `store` (its lookup pool on PostgreSQL). */
export function readCallers(store: StoreDb): ReadCallers {
  return async () => (await sql<{ name: string; tunnel_address: string }>`SELECT name, tunnel_address FROM vehicles WHERE revoked_at IS NULL`.execute(store.lookup ?? store.db)).rows;
}

/**
 * `read` the map, `direct` (the store's own lookup, store/vehicles/service.ts addressLookup) behind the map. A lookup the map cannot
 * answer goes to `direct` and has the map read again in the background (one read at a time): answers are never staler
 * than the watch. invalidate() (this process changed the registry) drops the map at once.
 */
export class CallerCache {
  private map: Map<string, string> | null = null;
  /** The watch's version and the local generation the map was read at. */
  private mapVersion: number | null = null;
  private mapGeneration = -1;
  private generation = 0;
  private loading: Promise<void> | null = null;
  readonly stats: CallerStats = { hits: 0, misses: 0, loads: 0 };

  constructor(
    private readonly read: ReadCallers,
    private readonly watch: RegistryWatch,
    private readonly direct: Lookup,
  ) {}

  async lookup(address: string): Promise<{ name: string } | null> {
    const v = await this.watch.version();
    if (v !== null && this.map && this.mapVersion === v && this.mapGeneration === this.generation) {
      this.stats.hits++;
      const name = this.map.get(address);
      return name === undefined ? null : { name };
    }
    this.stats.misses++;
    if (v !== null) this.load(v);
    return this.direct(address);
  }

  /** This process changed the registry (after its commit, before the caller is answered): the map is not used again. */
  invalidate(): void {
    this.generation++;
    this.map = null;
  }

  private load(v: number): void {
    if (this.loading) return;
    const generation = this.generation;
    this.loading = (async () => {
      // The version and generation are taken before the read: a change after them makes the map stale at once.
      const rows = await this.read();
      this.stats.loads++;
      this.map = new Map(rows.map((r) => [r.tunnel_address, r.name]));
      this.mapVersion = v;
      this.mapGeneration = generation;
    })()
      // A failed read leaves no map: the next lookup goes to the store (which answers, or fails as it would uncached).
      .catch(() => {})
      .finally(() => {
        this.loading = null;
      });
  }
}
