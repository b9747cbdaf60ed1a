import { Injectable } from '@nestjs/common';
import { TransactionHost } from '@nestjs-cls/transactional';
import { deleteBatch } from '../database/batch-delete.js';
import type { TypeOrmTx } from '../database/transactions.js';
import { RecoveryRequest } from './entities/recovery-request.entity.js';

/** The counters of one email's recovery requests, read under a row lock. */
export type LockedRequest = Pick<RecoveryRequest, 'codeAttempts'>;

/** How many stale rows one forgot-password request deletes, at most. */
const SWEEP_BATCH = 100;

/**
 * `recovery_requests`: per normalized email (hashed), known or unknown alike, the codes
 * sent this hour and the wrong codes tried against the latest one. In the transaction open
 * in the caller's context, if any.
 */
@Injectable()
export class RecoveryRequestsRepository {
  constructor(private readonly txHost: TransactionHost<TypeOrmTx>) {}

  /** The open transaction's manager, or the data source's outside one. */
  private get db() {
    return this.txHost.tx;
  }

  /**
   * Counts a code about to be sent, unless `perHour` were already sent in the current
   * hour: then `false` and nothing changes. A new code starts a new attempt counter. Drops
   * a few rows whose hour and code are both over, so the table holds about the last
   * hour's requests. The count is hand-written: an upsert whose update depends on the row
   * and may not happen at all (`ON CONFLICT … DO UPDATE … WHERE`), which TypeORM's
   * `orUpdate` cannot express.
   */
  async countCode(keyHash: Buffer, perHour: number, ttlMs: number): Promise<boolean> {
    await deleteBatch(
      this.db,
      RecoveryRequest,
      'keyHash',
      `r.windowStartedAt < now() - interval '1 hour' AND r.expiresAt < now()`,
      {},
      SWEEP_BATCH,
    );
    const rows: unknown[] = await this.db.query(
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
  async lockLive(keyHash: Buffer): Promise<LockedRequest | undefined> {
    const request = await this.db
      .getRepository(RecoveryRequest)
      .createQueryBuilder('q')
      .select(['q.keyHash', 'q.codeAttempts'])
      .where('q.keyHash = :keyHash AND q.expiresAt > now()', { keyHash })
      .setLock('pessimistic_write')
      .getOne();
    return request ? { codeAttempts: request.codeAttempts } : undefined;
  }

  async countWrongCode(keyHash: Buffer): Promise<void> {
    await this.db.getRepository(RecoveryRequest).increment({ keyHash }, 'codeAttempts', 1);
  }

  /** A code traded for a reset token counts no further attempts. */
  async endCode(keyHash: Buffer): Promise<void> {
    await this.db
      .createQueryBuilder()
      .update(RecoveryRequest)
      .set({ expiresAt: () => 'now()' })
      .where('key_hash = :keyHash', { keyHash })
      .execute();
  }
}
