// The site entity: its tables (sites, and the audit of every change: who, when, what) and row shapes.

/**
 * Its own file (sites.sqlite) for now, with its own schema_version: the registry's migration list belongs to the
 * vehicle store. `site_audit.id` doubles as the profile set's version: it grows with every change to any site.
 */
export const SITES_MIGRATIONS: ReadonlyArray<{ version: number; sql: string }> = [
  {
    version: 1,
    sql: `
CREATE TABLE sites (
  name        TEXT PRIMARY KEY,
  version     INTEGER NOT NULL,
  description TEXT,
  match       TEXT NOT NULL,
  profile     TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL
);
CREATE TABLE site_audit (
  id       INTEGER PRIMARY KEY AUTOINCREMENT,
  site     TEXT NOT NULL,
  version  INTEGER NOT NULL,
  at       TEXT NOT NULL,
  who      TEXT NOT NULL,
  action   TEXT NOT NULL,
  diff     TEXT NOT NULL,
  snapshot TEXT
);
CREATE INDEX site_audit_site ON site_audit(site, id);
`,
  },
];

export interface SiteRow {
  name: string;
  version: number;
  description: string | null;
  match: string;
  profile: string;
  created_at: string;
  updated_at: string;
}

export interface AuditRow {
  id: number;
  site: string;
  version: number;
  at: string;
  who: string;
  action: string;
  diff: string;
  snapshot: string | null;
}

/** One change to a site, as `roamlink site history` and the dashboard show it. */
export interface AuditEntry {
  /** The profile set version this change made. */
  set_version: number;
  site: string;
  /** The site's version after the change (for remove: the version removed). */
  version: number;
  at: string;
  who: string;
  action: 'add' | 'set' | 'remove';
  diff: Record<string, { from: unknown; to: unknown }>;
}
