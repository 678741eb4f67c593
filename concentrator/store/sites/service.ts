// Sites and their threshold profiles: validated as a whole before anything is written, versioned, and every change
// audited (who, when, what changed) in the same transaction. One SQL for SQLite and PostgreSQL (store/sql.ts).
import { InputError, formatPath } from '../../../shared/errors.js';
import { PROFILE_FIELDS, diffSites, siteInputSchema, type Profile, type Site, type SiteMatch, type SiteSet } from '../../../shared/wire/site-profile.js';
import { sql, type Kysely } from 'kysely';
import { sqliteStore, type StoreDb } from '../sql.js';
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

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Q = Kysely<any>;

export class SiteService {
  readonly store: StoreDb;
  private readonly now: () => Date;

  constructor(
    /** The sites' database: an open SQLite file (openSitesDb) or a store (SQLite or PostgreSQL). */
    db: SitesDb | StoreDb,
    opts: { now?: () => Date } = {},
  ) {
    this.store = 'dialect' in db ? db : sqliteStore(db);
    this.now = opts.now ?? (() => new Date());
  }

  async list(q: Q = this.store.db): Promise<Site[]> {
    return (await sql<SiteRow>`SELECT * FROM sites ORDER BY name`.execute(q)).rows.map(toSite);
  }

  async get(name: string, q: Q = this.store.db): Promise<Site | null> {
    const r = (await sql<SiteRow>`SELECT * FROM sites WHERE name = ${name}`.execute(q)).rows[0];
    return r ? toSite(r) : null;
  }

  /** The profile set's version: grows with every change to any site (0: never changed). */
  async version(q: Q = this.store.db): Promise<number> {
    return (await sql<{ v: number | null }>`SELECT MAX(id) AS v FROM site_audit`.execute(q)).rows[0]!.v ?? 0;
  }

  /** What agents fetch: every site and the set's version, read in one transaction (one snapshot). */
  async set(): Promise<SiteSet> {
    return this.store.db
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute(async (trx) => ({ version: await this.version(trx), sites: await this.list(trx) }));
  }

  /** A write: one transaction; on PostgreSQL the sites are locked first, so two writers take turns. */
  private write<T>(fn: (trx: Q) => Promise<T>): Promise<T> {
    return this.store.db.transaction().execute(async (trx) => {
      if (this.store.dialect === 'postgres') await sql`LOCK TABLE sites, site_audit IN SHARE ROW EXCLUSIVE MODE`.execute(trx);
      return fn(trx);
    });
  }

  async add(input: unknown, who: string): Promise<Site> {
    checkWho(who);
    const s = validate(input);
    return this.write(async (trx) => {
      if (await this.get(s.name, trx)) throw new SiteExistsError(s.name, 'name');
      const at = this.now().toISOString();
      await sql`INSERT INTO sites (name, version, description, match, profile, created_at, updated_at)
        VALUES (${s.name}, 1, ${s.description}, ${JSON.stringify(s.match)}, ${JSON.stringify(s.profile)}, ${at}, ${at})`.execute(trx);
      const site: Site = { name: s.name, version: 1, description: s.description, match: s.match, profile: s.profile, updated_at: at };
      await this.audit(trx, site, at, who, 'add', diffSites(null, site));
      return site;
    });
  }

  /** Applies `patch`; the result is validated whole. No actual change: no new version, no audit row. */
  async update(name: string, patch: SitePatch, who: string): Promise<{ site: Site; changed: boolean }> {
    checkWho(who);
    return this.write(async (trx) => {
      const cur = await this.get(name, trx);
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
      await sql`UPDATE sites SET version = ${site.version}, description = ${site.description}, match = ${JSON.stringify(site.match)},
        profile = ${JSON.stringify(site.profile)}, updated_at = ${at} WHERE name = ${name}`.execute(trx);
      await this.audit(trx, site, at, who, 'set', diff);
      return { site, changed: true };
    });
  }

  async remove(name: string, who: string): Promise<Site> {
    checkWho(who);
    return this.write(async (trx) => {
      const cur = await this.get(name, trx);
      if (!cur) throw new SiteNotFoundError(name);
      await sql`DELETE FROM sites WHERE name = ${name}`.execute(trx);
      const diff: Record<string, { from: unknown; to: unknown }> = {};
      for (const [k, v] of Object.entries(diffSites(null, cur))) diff[k] = { from: v.to, to: null };
      await this.audit(trx, null, this.now().toISOString(), who, 'remove', diff, cur);
      return cur;
    });
  }

  /** Every change to `name` (removed sites included), oldest first. */
  async history(name: string): Promise<AuditEntry[]> {
    return (await sql<AuditRow>`SELECT * FROM site_audit WHERE site = ${name} ORDER BY id`.execute(this.store.db)).rows.map(toAudit);
  }

  /** The latest changes to any site, newest first. */
  async recent(limit = 50): Promise<AuditEntry[]> {
    return (await sql<AuditRow>`SELECT * FROM site_audit ORDER BY id DESC LIMIT ${limit}`.execute(this.store.db)).rows.map(toAudit);
  }

  private async audit(trx: Q, site: Site | null, at: string, who: string, action: AuditEntry['action'], diff: object, removed?: Site): Promise<void> {
    const s = site ?? removed!;
    await sql`INSERT INTO site_audit (site, version, at, who, action, diff, snapshot)
      VALUES (${s.name}, ${s.version}, ${at}, ${who}, ${action}, ${JSON.stringify(diff)}, ${site ? JSON.stringify(site) : null})`.execute(trx);
  }
}
