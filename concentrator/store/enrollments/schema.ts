// The enrollment codes' and the registry audit's tables, in the registry's database (SQLite registry.sqlite, schema
// version 3; PostgreSQL version 3): a code is redeemed in the same transaction as the vehicle it adds.
import { type TableSpec } from '../table.js';

/**
 * A code is kept only as its SHA-256 (`code_hash`); `used_at` is set once, when it enrolls or a newer code cancels it.
 * `vehicle_audit`: who did what to which vehicle and when (a code issued, an enrollment, a refusal, an add, a revoke).
 */
export const ENROLLMENT_CODES_TABLE: TableSpec = {
  name: 'enrollment_codes',
  columns: [
    { name: 'code_hash', kind: 'text', primaryKey: true },
    { name: 'vehicle', kind: 'text', notNull: true },
    { name: 'subnet', kind: 'text' },
    { name: 'subnet_prefix', kind: 'int32', notNull: true },
    { name: 'site', kind: 'text' },
    { name: 'created_at', kind: 'text', notNull: true },
    { name: 'created_by', kind: 'text', notNull: true },
    { name: 'expires_at', kind: 'text', notNull: true },
    { name: 'used_at', kind: 'text' },
    { name: 'used_from', kind: 'text' },
  ],
  indexes: [{ name: 'enrollment_codes_vehicle', columns: ['vehicle'] }],
};

export const VEHICLE_AUDIT_TABLE: TableSpec = {
  name: 'vehicle_audit',
  columns: [
    { name: 'id', kind: 'id', neverReused: true },
    { name: 'at', kind: 'text', notNull: true },
    { name: 'who', kind: 'text', notNull: true },
    { name: 'action', kind: 'text', notNull: true },
    { name: 'vehicle', kind: 'text' },
    { name: 'detail', kind: 'text', notNull: true },
  ],
  indexes: [{ name: 'vehicle_audit_vehicle', columns: ['vehicle', 'id'] }],
};

export const ENROLLMENT_TABLES = [ENROLLMENT_CODES_TABLE, VEHICLE_AUDIT_TABLE] as const;

/** What a code enrolls: the vehicle's name and what `vehicle add` would have been given. */
export interface Pending {
  vehicle: string;
  subnet: string | null;
  subnet_prefix: number;
  site: string | null;
  expires_at: string;
}

export type AuditAction = 'code' | 'enrolled' | 'refused' | 'cancelled' | 'added' | 'revoked';

export interface AuditEntry {
  id: number;
  at: string;
  who: string;
  action: AuditAction;
  vehicle: string | null;
  detail: string;
}
