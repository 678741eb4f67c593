// The enrollment codes: issued by `roamlink vehicle add` or the dashboard, redeemed once by `roamlink enroll` before they
// expire, in the transaction that adds the vehicle; only their hash is kept. The registry's audit (who, when, what) is
// written here too. One SQL for SQLite and PostgreSQL (store/sql.ts).
import { sql, type Kysely } from 'kysely';
import type { StoreDb } from '../sql.js';
import { hashCode, newCode, normalizeCode } from './code.js';
import type { AuditAction, AuditEntry, Pending } from './schema.js';

export type { AuditEntry, Pending } from './schema.js';

export type Redeem = { ok: true; pending: Pending; hash: string } | { ok: false; why: 'malformed' | 'unknown' | 'expired' | 'used'; at?: string; vehicle?: string };

/** Default and longest life of a code. */
export const CODE_TTL_MS = 15 * 60_000;
export const CODE_TTL_MAX_MS = 24 * 3_600_000;

/** The code was spent, expired or cancelled between the check and the claim (another redemption won). */
export class CodeGoneError extends Error {
  constructor() {
    super('the enrollment code was used meanwhile');
    this.name = 'CodeGoneError';
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Q = Kysely<any>;

interface CodeRow extends Pending {
  used_at: string | null;
}

export class EnrollmentService {
  constructor(
    /** The registry's database (the codes and the vehicles they add are in one). */
    readonly store: StoreDb,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * A new code for `vehicle` (the caller checked that no active vehicle has the name). An earlier unused code for the
   * same name is cancelled: one way in per vehicle. Returns the code itself, which is never stored.
   */
  async issue(p: Omit<Pending, 'expires_at'> & { who: string; ttlMs?: number }): Promise<{ code: string; expires_at: string }> {
    const ttl = p.ttlMs ?? CODE_TTL_MS;
    if (!(ttl >= 60_000 && ttl <= CODE_TTL_MAX_MS)) throw new RangeError(`a code lives 1 min to 24 h, not ${ttl} ms`);
    const code = newCode();
    const now = this.now();
    const at = now.toISOString();
    const expires = new Date(now.getTime() + ttl).toISOString();
    await this.store.db.transaction().execute(async (trx) => {
      const cancelled = (await sql`UPDATE enrollment_codes SET used_at = ${at}, used_from = ${'cancelled: a newer code'}
        WHERE vehicle = ${p.vehicle} AND used_at IS NULL RETURNING code_hash`.execute(trx)).rows.length;
      if (cancelled) await this.audit(p.who, 'cancelled', p.vehicle, `${cancelled} earlier code(s) cancelled by a newer one`, trx);
      await sql`INSERT INTO enrollment_codes (code_hash, vehicle, subnet, subnet_prefix, site, created_at, created_by, expires_at)
        VALUES (${hashCode(normalizeCode(code)!)}, ${p.vehicle}, ${p.subnet}, ${p.subnet_prefix}, ${p.site}, ${at}, ${p.who}, ${expires})`.execute(trx);
      await this.audit(p.who, 'code', p.vehicle, `code issued, expires ${expires}${p.subnet ? `, subnet ${p.subnet}` : ''}${p.site ? `, site ${p.site}` : ''}`, trx);
    });
    return { code, expires_at: expires };
  }

  /** Whether `text` is a code that may enroll now (nothing is changed: `claim` does that, with the vehicle's add). */
  async check(text: string, q: Q = this.store.db): Promise<Redeem> {
    const n = normalizeCode(text);
    if (!n) return { ok: false, why: 'malformed' };
    const hash = hashCode(n);
    const r = (await sql<CodeRow>`SELECT * FROM enrollment_codes WHERE code_hash = ${hash}`.execute(q)).rows[0];
    if (!r) return { ok: false, why: 'unknown' };
    if (r.used_at) return { ok: false, why: 'used', at: r.used_at, vehicle: r.vehicle };
    if (Date.parse(r.expires_at) <= this.now().getTime()) return { ok: false, why: 'expired', at: r.expires_at, vehicle: r.vehicle };
    return { ok: true, hash, pending: { vehicle: r.vehicle, subnet: r.subnet, subnet_prefix: Number(r.subnet_prefix), site: r.site, expires_at: r.expires_at } };
  }

  /**
   * Spends the code inside the caller's transaction (the one adding the vehicle): throws CodeGoneError when it was
   * spent, cancelled or expired since `check`, which rolls the add back. Two redemptions at once: one wins.
   */
  async claim(trx: Q, hash: string, from: string): Promise<void> {
    const now = this.now().toISOString();
    const r = await sql`UPDATE enrollment_codes SET used_at = ${now}, used_from = ${from}
      WHERE code_hash = ${hash} AND used_at IS NULL AND expires_at > ${now} RETURNING code_hash`.execute(trx);
    if (r.rows.length !== 1) throw new CodeGoneError();
  }

  /** One line of the registry's audit: `who` did `action` to `vehicle` (detail never holds a code or a key's secret). */
  async audit(who: string, action: AuditAction, vehicle: string | null, detail: string, q: Q = this.store.db): Promise<void> {
    await sql`INSERT INTO vehicle_audit (at, who, action, vehicle, detail) VALUES (${this.now().toISOString()}, ${who}, ${action}, ${vehicle}, ${detail})`.execute(q);
  }

  /** The latest audit lines, newest first; only `vehicle`'s when given. */
  async recentAudit(limit = 100, vehicle?: string): Promise<AuditEntry[]> {
    const only = vehicle === undefined ? sql`` : sql`WHERE vehicle = ${vehicle}`;
    return (await sql<AuditEntry>`SELECT * FROM vehicle_audit ${only} ORDER BY id DESC LIMIT ${limit}`.execute(this.store.db)).rows.map((r) => ({ ...r, id: Number(r.id) }));
  }
}
