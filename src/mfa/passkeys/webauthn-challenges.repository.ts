import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { TransactionHost } from '@nestjs-cls/transactional';
import { deleteBatch } from '../../database/batch-delete.js';
import type { TypeOrmTx } from '../../database/transactions.js';
import { WebauthnChallenge } from '../entities/webauthn-challenge.entity.js';

export type ChallengePurpose = 'registration' | 'authentication';

function challengeHash(challenge: string): Buffer {
  return createHash('sha256').update(challenge).digest();
}

/** `webauthn_challenges`: challenges handed out, each usable once until it expires. */
@Injectable()
export class WebauthnChallengesRepository {
  constructor(private readonly txHost: TransactionHost<TypeOrmTx>) {}

  private get db() {
    return this.txHost.tx;
  }

  async insert(
    challenge: string,
    purpose: ChallengePurpose,
    userId: string | null,
    ttlMs: number,
  ): Promise<void> {
    await this.db
      .createQueryBuilder()
      .insert()
      .into(WebauthnChallenge)
      .values({
        challengeHash: challengeHash(challenge),
        purpose,
        userId,
        expiresAt: () => `now() + :ttlMs * interval '1 millisecond'`,
      })
      .setParameter('ttlMs', ttlMs)
      .execute();
  }

  /**
   * Uses a challenge up: the user it was handed out for (`userId` null: a username-less
   * one) when it was live and of that purpose, else undefined. Deleted in any case, so that
   * it is never tried twice.
   */
  async consume(
    challenge: string,
    purpose: ChallengePurpose,
  ): Promise<{ userId: string | null } | undefined> {
    const result = await this.db
      .createQueryBuilder()
      .delete()
      .from(WebauthnChallenge)
      .where('challenge_hash = :hash', { hash: challengeHash(challenge) })
      .returning('purpose, user_id, expires_at')
      .execute();
    const rows = result.raw as { purpose: string; user_id: string | null; expires_at: Date }[];
    const row = rows[0];
    const live =
      row !== undefined &&
      row.purpose === purpose &&
      new Date(row.expires_at).getTime() > Date.now();
    return live ? { userId: row.user_id } : undefined;
  }

  /** Retention: challenges expired more than `olderThanMs` ago. */
  deleteExpiredBatch(olderThanMs: number, batch: number): Promise<number> {
    return deleteBatch(
      this.db,
      WebauthnChallenge,
      'challengeHash',
      `r.expiresAt < now() - :olderThanMs * interval '1 millisecond'`,
      { olderThanMs },
      batch,
    );
  }
}
