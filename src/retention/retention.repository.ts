import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/** Rows deleted per statement: short statements, short row locks, small WAL bursts. */
export const RETENTION_BATCH = 1_000;

/**
 * What the cleanup deletes, per table: its key column and when a row is old enough. `$1`
 * is the retention in milliseconds. Refresh tokens go with their sessions (ON DELETE
 * CASCADE); the login backoff sweeps its own table (LoginBackoff).
 */
export const RETENTION_RULES = {
  /** Audit events older than AUDIT_RETENTION. */
  audit_events: {
    key: 'id',
    old: `created_at < now() - $1::float8 * interval '1 millisecond'`,
    retention: 'audit',
  },
  /** Sessions revoked, idle-expired or past their absolute expiry EXPIRED_RETENTION ago. */
  sessions: {
    key: 'id',
    old: `LEAST(COALESCE(revoked_at, 'infinity'::timestamptz), expires_at, absolute_expires_at)
            < now() - $1::float8 * interval '1 millisecond'`,
    retention: 'expired',
  },
  /** Password resets whose link, code and reset token all expired EXPIRED_RETENTION ago. */
  password_resets: {
    key: 'user_id',
    old: `GREATEST(expires_at, COALESCE(reset_token_expires_at, expires_at))
            < now() - $1::float8 * interval '1 millisecond'`,
    retention: 'expired',
  },
  /** Verification links expired EXPIRED_RETENTION ago (used ones are deleted when used). */
  email_verifications: {
    key: 'user_id',
    old: `expires_at < now() - $1::float8 * interval '1 millisecond'`,
    retention: 'expired',
  },
  /** Sent or abandoned messages finished EXPIRED_RETENTION ago; pending ones stay. */
  mail_outbox: {
    key: 'id',
    old: `status <> 'pending'
          AND COALESCE(sent_at, created_at) < now() - $1::float8 * interval '1 millisecond'`,
    retention: 'expired',
  },
} as const satisfies Record<string, { key: string; old: string; retention: 'audit' | 'expired' }>;

export type RetentionTable = keyof typeof RETENTION_RULES;

/** SQL of the retention cleanup. */
@Injectable()
export class RetentionRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Deletes up to RETENTION_BATCH old rows of `table` in one statement and answers how
   * many. The rows are picked `FOR UPDATE SKIP LOCKED`: instances cleaning at the same time
   * take disjoint batches, never wait for each other nor for a request that holds a row,
   * and no row is deleted twice. Unlike an advisory lock this needs no session state, so
   * it holds on PostgreSQL and on the embedded PGlite (one backend behind a TCP bridge).
   */
  async deleteBatch(table: RetentionTable, retentionMs: number): Promise<number> {
    const { key, old } = RETENTION_RULES[table];
    const [, count]: [unknown[], number] = await this.dataSource.query(
      `DELETE FROM ${table}
        WHERE ${key} = ANY (ARRAY(
          SELECT ${key} FROM ${table} WHERE ${old}
           LIMIT ${RETENTION_BATCH} FOR UPDATE SKIP LOCKED))`,
      [retentionMs],
    );
    return count;
  }
}
