// The enrollment codes' and the registry audit's tables, in the registry's database (SQLite registry.sqlite, schema
// version 3; PostgreSQL version 3): a code is redeemed in the same transaction as the vehicle it adds.

/**
 * A code is kept only as its SHA-256 (`code_hash`); `used_at` is set once, when it enrolls or a newer code cancels it.
 * `vehicle_audit`: who did what to which vehicle and when (a code issued, an enrollment, a refusal, an add, a revoke).
 */
export const ENROLLMENTS_V1 = `
CREATE TABLE enrollment_codes (
  code_hash     TEXT PRIMARY KEY,
  vehicle       TEXT NOT NULL,
  subnet        TEXT,
  subnet_prefix INTEGER NOT NULL,
  site          TEXT,
  created_at    TEXT NOT NULL,
  created_by    TEXT NOT NULL,
  expires_at    TEXT NOT NULL,
  used_at       TEXT,
  used_from     TEXT
);
CREATE INDEX enrollment_codes_vehicle ON enrollment_codes(vehicle);
CREATE TABLE vehicle_audit (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  at      TEXT NOT NULL,
  who     TEXT NOT NULL,
  action  TEXT NOT NULL,
  vehicle TEXT,
  detail  TEXT NOT NULL
);
CREATE INDEX vehicle_audit_vehicle ON vehicle_audit(vehicle, id);
`;

/** The same for PostgreSQL. */
export const ENROLLMENTS_V1_PG = ENROLLMENTS_V1.replace('INTEGER PRIMARY KEY AUTOINCREMENT', 'BIGSERIAL PRIMARY KEY');

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
