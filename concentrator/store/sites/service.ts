// Sites and their threshold profiles: validated as a whole before anything is written, versioned, and every change
// audited (who, when, what changed) in the same transaction.
import { InputError, formatPath } from '../../../shared/errors.js';
import { PROFILE_FIELDS, diffSites, siteInputSchema, type Profile, type Site, type SiteMatch, type SiteSet } from '../../../shared/wire/site-profile.js';
import type { SitesDb } from './db.js';
import type { AuditEntry, AuditRow, SiteRow } from './schema.js';

export class SiteNotFoundError extends InputError {
  constructor(name: string, field = 'NAME') {
    super(`no site "${name}"`, field);
  }
}

export class SiteExistsError extends InputError {
  constructor(name: string, field = 'NAME') {
    super(`site "${name}" already exists`, field);
  }
}

/**
 * A change to a site: fields given replace the stored ones; in `profile`, null removes a field (back to the
 * default); in `match`, a given list replaces that list.
 */
export interface SitePatch {
  description?: string | null;
  match?: Partial<SiteMatch>;
  profile?: { [K in keyof Profile]?: Profile[K] | null };
}

const toSite = (r: SiteRow): Site => ({
  name: r.name, version: r.version, description: r.description,
  match: JSON.parse(r.match) as SiteMatch, profile: JSON.parse(r.profile) as Profile, updated_at: r.updated_at,
});

const toAudit = (r: AuditRow): AuditEntry => ({
  set_version: r.id, site: r.site, version: r.version, at: r.at, who: r.who, action: r.action as AuditEntry['action'], diff: JSON.parse(r.diff),
});

/** Validates a whole site (as stored after the change); the InputError names the field, e.g. `profile.switch_below`. */
function validate(input: unknown): { name: string; description: string | null; match: SiteMatch; profile: Profile } {
  const r = siteInputSchema.safeParse(input);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new InputError(i.message, formatPath(i.path) || 'site');
  }
  return r.data;
}

function checkWho(who: string): string {
  if (!who || who.length > 100 || /[\n\r]/.test(who)) throw new InputError('must say who made the change (1-100 characters, one line)', 'who');
  return who;
}

export class SiteService {
  private readonly now: () => Date;

  constructor(
    private readonly db: SitesDb,
    opts: { now?: () => Date } = {},
  ) {
    this.now = opts.now ?? (() => new Date());
  }

  async list(): Promise<Site[]> {
    return this.listNow();
  }

  private listNow(): Site[] {
    return (this.db.prepare('SELECT * FROM sites ORDER BY name').all() as SiteRow[]).map(toSite);
  }

  async get(name: string): Promise<Site | null> {
    return this.getNow(name);
  }

  private getNow(name: string): Site | null {
    const r = this.db.prepare('SELECT * FROM sites WHERE name = ?').get(name) as SiteRow | undefined;
    return r ? toSite(r) : null;
  }

  /** The profile set's version: grows with every change to any site (0: never changed). */
  async version(): Promise<number> {
    return this.versionNow();
  }

  private versionNow(): number {
    return (this.db.prepare('SELECT MAX(id) AS v FROM site_audit').get() as { v: number | null }).v ?? 0;
  }

  /** What agents fetch: every site and the set's version, read in one transaction. */
  async set(): Promise<SiteSet> {
    return this.db.transaction(() => ({ version: this.versionNow(), sites: this.listNow() }))();
  }

  async add(input: unknown, who: string): Promise<Site> {
    checkWho(who);
    const s = validate(input);
    const tx = this.db.transaction((): Site => {
      if (this.getNow(s.name)) throw new SiteExistsError(s.name, 'name');
      const at = this.now().toISOString();
      this.db
        .prepare('INSERT INTO sites (name, version, description, match, profile, created_at, updated_at) VALUES (?, 1, ?, ?, ?, ?, ?)')
        .run(s.name, s.description, JSON.stringify(s.match), JSON.stringify(s.profile), at, at);
      const site: Site = { name: s.name, version: 1, description: s.description, match: s.match, profile: s.profile, updated_at: at };
      this.audit(site, at, who, 'add', diffSites(null, site));
      return site;
    });
    return tx.immediate();
  }

  /** Applies `patch`; the result is validated whole. No actual change: no new version, no audit row. */
  async update(name: string, patch: SitePatch, who: string): Promise<{ site: Site; changed: boolean }> {
    checkWho(who);
    const tx = this.db.transaction(() => {
      const cur = this.getNow(name);
      if (!cur) throw new SiteNotFoundError(name);
      const profile: Record<string, unknown> = { ...cur.profile };
      for (const [k, v] of Object.entries(patch.profile ?? {})) {
        if (!(PROFILE_FIELDS as string[]).includes(k)) throw new InputError(`not a profile field (one of ${PROFILE_FIELDS.join(', ')})`, `profile.${k}`);
        if (v === null) delete profile[k];
        else profile[k] = v;
      }
      const next = validate({
        name,
        description: patch.description !== undefined ? patch.description : cur.description,
        match: { ...cur.match, ...patch.match },
        profile,
      });
      const diff = diffSites(cur, next);
      if (!Object.keys(diff).length) return { site: cur, changed: false };
      const at = this.now().toISOString();
      const site: Site = { name, version: cur.version + 1, description: next.description, match: next.match, profile: next.profile, updated_at: at };
      this.db
        .prepare('UPDATE sites SET version = ?, description = ?, match = ?, profile = ?, updated_at = ? WHERE name = ?')
        .run(site.version, site.description, JSON.stringify(site.match), JSON.stringify(site.profile), at, name);
      this.audit(site, at, who, 'set', diff);
      return { site, changed: true };
    });
    return tx.immediate();
  }

  async remove(name: string, who: string): Promise<Site> {
    checkWho(who);
    const tx = this.db.transaction((): Site => {
      const cur = this.getNow(name);
      if (!cur) throw new SiteNotFoundError(name);
      this.db.prepare('DELETE FROM sites WHERE name = ?').run(name);
      const diff: Record<string, { from: unknown; to: unknown }> = {};
      for (const [k, v] of Object.entries(diffSites(null, cur))) diff[k] = { from: v.to, to: null };
      this.audit(null, this.now().toISOString(), who, 'remove', diff, cur);
      return cur;
    });
    return tx.immediate();
  }

  /** Every change to `name` (removed sites included), oldest first. */
  async history(name: string): Promise<AuditEntry[]> {
    return (this.db.prepare('SELECT * FROM site_audit WHERE site = ? ORDER BY id').all(name) as AuditRow[]).map(toAudit);
  }

  /** The latest changes to any site, newest first. */
  async recent(limit = 50): Promise<AuditEntry[]> {
    return (this.db.prepare('SELECT * FROM site_audit ORDER BY id DESC LIMIT ?').all(limit) as AuditRow[]).map(toAudit);
  }

  private audit(site: Site | null, at: string, who: string, action: AuditEntry['action'], diff: object, removed?: Site): void {
    const s = site ?? removed!;
    this.db
      .prepare('INSERT INTO site_audit (site, version, at, who, action, diff, snapshot) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(s.name, s.version, at, who, action, JSON.stringify(diff), site ? JSON.stringify(site) : null);
  }
}
