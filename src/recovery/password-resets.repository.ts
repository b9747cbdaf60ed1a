import { Injectable } from '@nestjs/common';
import { TransactionHost } from '@nestjs-cls/transactional';
import { deleteBatch } from '../database/batch-delete.js';
import type { TypeOrmTx } from '../database/transactions.js';
import { PasswordReset } from './entities/password-reset.entity.js';

export interface NewResetSecrets {
  linkTokenHash: Buffer;
  codeHmac: Buffer;
  ttlMs: number;
}

/** The live reset request of an account, read under a row lock to check a code. */
export type LockedReset = Pick<PasswordReset, 'userId' | 'linkTokenHash' | 'codeHmac'>;

/** No account has it: statements for unknown accounts run with it and find nothing. */
export const NO_ACCOUNT = '00000000-0000-0000-0000-000000000000';

/** `$1`/`:tokenHash` is the hash of either the emailed link token or a reset token, unexpired. */
const LIVE_TOKEN = `((r.linkTokenHash = :tokenHash AND r.expiresAt > now())
   OR (r.resetTokenHash = :tokenHash AND r.resetTokenExpiresAt > now()))`;

/**
 * `password_resets` (one row per user: a new request replaces the previous one). In the
 * transaction open in the caller's context, if any.
 */
@Injectable()
export class PasswordResetsRepository {
  constructor(private readonly txHost: TransactionHost<TypeOrmTx>) {}

  /** The open transaction's manager, or the data source's outside one. */
  private get db() {
    return this.txHost.tx;
  }

  /**
   * Replaces the request of the account `userId`. For an unknown account (`undefined`) the
   * very same statement runs and changes nothing, so both cases cost the same. Hand-written:
   * an upsert that must also run as a no-op (`WHERE $1 IS NOT NULL`), which TypeORM's
   * insert builder cannot express.
   */
  async replace(userId: string | undefined, secrets: NewResetSecrets): Promise<void> {
    await this.db.query(
      `INSERT INTO password_resets AS r (user_id, link_token_hash, code_hmac, expires_at)
       SELECT $1::uuid, $2, $3, now() + $4 * interval '1 millisecond' WHERE $1::uuid IS NOT NULL
       ON CONFLICT (user_id) DO UPDATE
          SET link_token_hash = EXCLUDED.link_token_hash,
              code_hmac = EXCLUDED.code_hmac,
              reset_token_hash = NULL,
              reset_token_expires_at = NULL,
              created_at = now(),
              expires_at = EXCLUDED.expires_at`,
      [userId ?? null, secrets.linkTokenHash, secrets.codeHmac, secrets.ttlMs],
    );
  }

  /**
   * Locks the unexpired request of the account (`FOR UPDATE`), so that parallel guesses are
   * checked and counted one after the other. `NO_ACCOUNT` for an unknown one: same cost.
   */
  async lockLive(userId: string): Promise<LockedReset | undefined> {
    const reset = await this.db
      .getRepository(PasswordReset)
      .createQueryBuilder('r')
      .select(['r.userId', 'r.linkTokenHash', 'r.codeHmac'])
      .where('r.userId = :userId AND r.expiresAt > now()', { userId })
      .setLock('pessimistic_write')
      .getOne();
    return reset ?? undefined;
  }

  /** Uses up the code and records the reset token it was traded for. */
  async issueResetToken(userId: string, resetTokenHash: Buffer, ttlMs: number): Promise<void> {
    await this.db
      .createQueryBuilder()
      .update(PasswordReset)
      .set({
        codeHmac: null,
        resetTokenHash,
        resetTokenExpiresAt: () => `now() + :ttlMs * interval '1 millisecond'`,
      })
      .setParameter('ttlMs', ttlMs)
      .where('user_id = :userId', { userId })
      .execute();
  }

  /** The account a live link token or reset token belongs to. */
  async findUserIdByToken(tokenHash: Buffer): Promise<string | undefined> {
    const reset = await this.db
      .getRepository(PasswordReset)
      .createQueryBuilder('r')
      .select('r.userId')
      .where(LIVE_TOKEN, { tokenHash })
      .getOne();
    return reset?.userId;
  }

  /**
   * Deletes the request a live token belongs to and answers its user: the single-use
   * check, since of two concurrent resets only one deletes the row.
   */
  async consume(tokenHash: Buffer): Promise<string | undefined> {
    const result = await this.db
      .createQueryBuilder()
      .delete()
      .from(PasswordReset)
      .where(
        `(link_token_hash = :tokenHash AND expires_at > now())
          OR (reset_token_hash = :tokenHash AND reset_token_expires_at > now())`,
        { tokenHash },
      )
      .returning('user_id')
      .execute();
    return (result.raw as { user_id: string }[])[0]?.user_id;
  }

  /** Requests whose link, code and reset token all expired `olderThanMs` ago (retention). */
  deleteExpiredBatch(olderThanMs: number, batch: number): Promise<number> {
    return deleteBatch(
      this.db,
      PasswordReset,
      'userId',
      `GREATEST(r.expiresAt, COALESCE(r.resetTokenExpiresAt, r.expiresAt))
         < now() - :olderThanMs::float8 * interval '1 millisecond'`,
      { olderThanMs },
      batch,
    );
  }
}
