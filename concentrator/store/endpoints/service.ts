// Each vehicle's last WireGuard endpoint, kept in HQ's state dir, so that a fresh interface (after a reboot) can send to every vehicle at once.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isEndpoint } from '../../reconcile/diff.js';

/** Public key to "ip:port". */
export type Endpoints = ReadonlyMap<string, string>;

export function endpointsPath(stateDir: string): string {
  return join(stateDir, 'endpoints.json');
}

/**
 * The stored endpoints updated with the live ones (pure): a peer with a live endpoint takes it, a peer without one
 * (not heard since the interface was made) keeps the stored one, a peer no longer on the interface is forgotten.
 * `changed` says whether there is anything to write.
 */
export function mergeEndpoints(stored: Endpoints, live: ReadonlyArray<{ publicKey: string; endpoint: string | null }>): { next: Map<string, string>; changed: boolean } {
  const next = new Map<string, string>();
  for (const p of live) {
    const e = p.endpoint ?? stored.get(p.publicKey);
    if (e !== undefined) next.set(p.publicKey, e);
  }
  const changed = next.size !== stored.size || [...next].some(([k, v]) => stored.get(k) !== v);
  return { next, changed };
}

/** The endpoint file: read whole, written whole (a temporary file renamed over it, so a crash leaves the old or the new). */
export class EndpointStore {
  constructor(private readonly path: string, private readonly warn: (msg: string) => void = () => {}) {}

  /** The stored endpoints; an absent file is none, an unreadable one is none with a warning naming the file. */
  load(): Map<string, string> {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.warn(`cannot read ${this.path}: ${(err as Error).message}; starting without stored endpoints`);
      return new Map();
    }
    try {
      const v = JSON.parse(text) as unknown;
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object of public key to endpoint');
      return new Map(Object.entries(v as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string' && isEndpoint(e[1])));
    } catch (err) {
      this.warn(`${this.path} is not valid (${(err as Error).message}); starting without stored endpoints`);
      return new Map();
    }
  }

  save(endpoints: Endpoints): void {
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(Object.fromEntries([...endpoints].sort(([a], [b]) => (a < b ? -1 : 1))), null, 1)}\n`, { mode: 0o600 });
    renameSync(tmp, this.path);
  }
}
