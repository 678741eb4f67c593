// The last good site profile set on the agent's disk (state_dir/sites.json), so it applies while HQ is out of reach.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../shared/atomic-file.js';
import { siteSetSchema, type SiteSet } from '../../shared/wire/site-profile.js';

export interface SiteSetStore {
  /** The saved set, or null when there is none, it cannot be read or it does not validate (warned, with the file named). */
  load(): SiteSet | null;
  /** Saves atomically (temp file, fsync, rename, fsync of the directory); throws when the disk refuses. */
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
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT') warn(`${path}: cannot read the site profiles (${code ?? (err as Error).message}); ignored`);
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
      writeFileAtomic(path, `${JSON.stringify(set)}\n`);
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
