// The site entity: its tables (sites, and the audit of every change: who, when, what) and row shapes.
import { createTablesSql, type TableSpec } from '../table.js';

/**
 * Its own file (sites.sqlite) for now, with its own schema_version: the registry's migration list belongs to the
 * vehicle store. `site_audit.id` doubles as the profile set's version: it grows with every change to any site.
 */
export const SITES_TABLE: TableSpec = {
  name: 'sites',
  columns: [
    { name: 'name', kind: 'text', primaryKey: true },
    { name: 'version', kind: 'int', notNull: true },
    { name: 'description', kind: 'text' },
    { name: 'match', kind: 'text', notNull: true },
    { name: 'profile', kind: 'text', notNull: true },
    { name: 'created_at', kind: 'text', notNull: true },
    { name: 'updated_at', kind: 'text', notNull: true },
  ],
};

export const SITE_AUDIT_TABLE: TableSpec = {
  name: 'site_audit',
  columns: [
    { name: 'id', kind: 'id', neverReused: true },
    { name: 'site', kind: 'text', notNull: true },
    { name: 'version', kind: 'int', notNull: true },
    { name: 'at', kind: 'text', notNull: true },
    { name: 'who', kind: 'text', notNull: true },
    { name: 'action', kind: 'text', notNull: true },
    { name: 'diff', kind: 'text', notNull: true },
    { name: 'snapshot', kind: 'text' },
  ],
  indexes: [{ name: 'site_audit_site', columns: ['site', 'id'] }],
};

export const SITE_TABLES = [SITES_TABLE, SITE_AUDIT_TABLE] as const;

export const SITES_MIGRATIONS: ReadonlyArray<{ version: number; sql: string }> = [{ version: 1, sql: createTablesSql(SITE_TABLES, 'sqlite') }];

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
