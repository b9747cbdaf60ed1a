import { Injectable } from '@nestjs/common';
import { TransactionHost } from '@nestjs-cls/transactional';
import { deleteBatch } from '../database/batch-delete.js';
import type { TypeOrmTx } from '../database/transactions.js';
import { EmailVerification } from './entities/email-verification.entity.js';
import { NO_ACCOUNT } from './password-resets.repository.js';

/**
 * `email_verifications` (one row per user: a new link replaces the previous one). In the
 * transaction open in the caller's context, if any.
 */
@Injectable()
export class EmailVerificationsRepository {
  constructor(private readonly txHost: TransactionHost<TypeOrmTx>) {}

  /** The open transaction's manager, or the data source's outside one. */
  private get db() {
    return this.txHost.tx;
  }

  /**
   * Issues (or replaces) the link of `userId`. `undefined` (an unknown or verified account)
   * runs the same upsert for nobody, which changes nothing: both cases cost the same.
   */
  async issue(userId: string | undefined, tokenHash: Buffer, ttlMs: number): Promise<void> {
    const upsert = this.db
      .createQueryBuilder()
      .insert()
      .into(EmailVerification)
      .values({
        userId: userId ?? NO_ACCOUNT,
        tokenHash,
        createdAt: () => 'now()',
        expiresAt: () => `now() + :ttlMs * interval '1 millisecond'`,
      })
      .setParameter('ttlMs', ttlMs)
      .orUpdate(['token_hash', 'created_at', 'expires_at'], ['user_id']);
    if (userId) {
      await upsert.execute();
      return;
    }
    // The same statement, as a no-op: it finds the row to update of nobody.
    await this.db
      .getRepository(EmailVerification)
      .createQueryBuilder('v')
      .where('v.userId = :userId', { userId: NO_ACCOUNT })
      .getExists();
  }

  /**
   * Uses up a live token and answers its user: of two concurrent uses only one deletes the
   * row.
   */
  async consume(tokenHash: Buffer): Promise<string | undefined> {
    const result = await this.db
      .createQueryBuilder()
      .delete()
      .from(EmailVerification)
      .where('token_hash = :tokenHash AND expires_at > now()', { tokenHash })
      .returning('user_id')
      .execute();
    return (result.raw as { user_id: string }[])[0]?.user_id;
  }

  /** Drops the pending link of a user whose email has just been proven another way. */
  async discard(userId: string): Promise<void> {
    await this.db.getRepository(EmailVerification).delete({ userId });
  }

  /** Links that expired `olderThanMs` ago (used ones are deleted when used); retention. */
  deleteExpiredBatch(olderThanMs: number, batch: number): Promise<number> {
    return deleteBatch(
      this.db,
      EmailVerification,
      'userId',
      `r.expiresAt < now() - :olderThanMs::float8 * interval '1 millisecond'`,
      { olderThanMs },
      batch,
    );
  }
}
