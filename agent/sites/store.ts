// The last good site profile set on the agent's disk (state_dir/sites.json), so it applies while HQ is out of reach.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { siteSetSchema, type SiteSet } from '../../shared/wire/site-profile.js';

export interface SiteSetStore {
  /** The saved set, or null when there is none or it no longer validates. */
  load(): SiteSet | null;
  /** Saves atomically (temp file, fsync, rename). */
  save(set: SiteSet): void;
}

export function sitesPath(stateDir: string): string {
  return join(stateDir, 'sites.json');
}

export function fileSiteStore(path: string, warn: (msg: string) => void = () => {}): SiteSetStore {
  return {
    load() {
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch {
        return null;
      }
      try {
        const r = siteSetSchema.safeParse(JSON.parse(text));
        if (r.success) return r.data;
        warn(`${path}: not a valid profile set (${r.error.issues[0]?.message}); ignored`);
      } catch (err) {
        warn(`${path}: not JSON (${(err as Error).message}); ignored`);
      }
      return null;
    },
    save(set) {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      const tmp = `${path}.${process.pid}.tmp`;
      try {
        writeFileSync(tmp, `${JSON.stringify(set)}\n`, { mode: 0o600, flush: true });
        renameSync(tmp, path);
      } catch (err) {
        rmSync(tmp, { force: true });
        throw err;
      }
    },
  };
}

export function memorySiteStore(initial: SiteSet | null = null): SiteSetStore & { saved: SiteSet | null } {
  return {
    saved: initial,
    load() {
      return this.saved;
    },
    save(set) {
      this.saved = set;
    },
  };
}
