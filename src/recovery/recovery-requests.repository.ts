import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

/** The counters of one email's recovery requests, read under a row lock. */
export interface LockedRequest {
  code_attempts: number;
}

/** How many stale rows one forgot-password request deletes, at most. */
const SWEEP_BATCH = 100;

/**
 * SQL over `recovery_requests`: per normalized email (hashed), known or unknown alike, the
 * codes sent this hour and the wrong codes tried against the latest one.
 */
@Injectable()
export class RecoveryRequestsRepository {
  /**
   * Counts a code about to be sent, unless `perHour` were already sent in the current
   * hour: then `false` and nothing changes. A new code starts a new attempt counter. Drops
   * a few rows whose hour and code are both over, so the table holds about the last
   * hour's requests.
   */
  async countCode(
    manager: EntityManager,
    keyHash: Buffer,
    perHour: number,
    ttlMs: number,
  ): Promise<boolean> {
    await manager.query(
      `DELETE FROM recovery_requests WHERE key_hash IN (
         SELECT key_hash FROM recovery_requests
          WHERE window_started_at < now() - interval '1 hour' AND expires_at < now()
          LIMIT ${SWEEP_BATCH} FOR UPDATE SKIP LOCKED)`,
    );
    const rows: unknown[] = await manager.query(
      `INSERT INTO recovery_requests AS q (key_hash, window_started_at, codes_sent, code_attempts, expires_at)
       VALUES ($1, now(), 1, 0, now() + $3::float8 * interval '1 millisecond')
       ON CONFLICT (key_hash) DO UPDATE
          SET (window_started_at, codes_sent, code_attempts, expires_at) = (
                CASE WHEN q.window_started_at <= now() - interval '1 hour' THEN now() ELSE q.window_started_at END,
                CASE WHEN q.window_started_at <= now() - interval '1 hour' THEN 1 ELSE q.codes_sent + 1 END,
                0,
                EXCLUDED.expires_at)
        WHERE q.window_started_at <= now() - interval '1 hour' OR q.codes_sent < $2::int
       RETURNING 1`,
      [keyHash, perHour, ttlMs],
    );
    return rows.length > 0;
  }

  /** The counters of the email's latest unexpired code, locked (`FOR UPDATE`), if any. */
  async lockLive(manager: EntityManager, keyHash: Buffer): Promise<LockedRequest | undefined> {
    const rows: LockedRequest[] = await manager.query(
      `SELECT code_attempts FROM recovery_requests
        WHERE key_hash = $1 AND expires_at > now() FOR UPDATE`,
      [keyHash],
    );
    return rows[0];
  }

  async countWrongCode(manager: EntityManager, keyHash: Buffer): Promise<void> {
    await manager.query(
      `UPDATE recovery_requests SET code_attempts = code_attempts + 1 WHERE key_hash = $1`,
      [keyHash],
    );
  }

  /** A code traded for a reset token counts no further attempts. */
  async endCode(manager: EntityManager, keyHash: Buffer): Promise<void> {
    await manager.query(`UPDATE recovery_requests SET expires_at = now() WHERE key_hash = $1`, [
      keyHash,
    ]);
  }
}
