import { Injectable } from '@nestjs/common';
import { TransactionHost } from '@nestjs-cls/transactional';
import { deleteBatch } from '../database/batch-delete.js';
import type { TypeOrmTx } from '../database/transactions.js';
import { MfaChallenge } from './entities/mfa-challenge.entity.js';

export interface MfaChallengeRecord {
  userId: string;
  passwordFingerprint: Buffer;
  identifierKind: 'email' | 'username';
  attempts: number;
}

/** `mfa_challenges`: pending second steps of logins. */
@Injectable()
export class MfaChallengesRepository {
  constructor(private readonly txHost: TransactionHost<TypeOrmTx>) {}

  private get db() {
    return this.txHost.tx;
  }

  async insert(challenge: MfaChallengeRecord & { tokenHash: Buffer; ttlMs: number }) {
    await this.db
      .createQueryBuilder()
      .insert()
      .into(MfaChallenge)
      .values({
        tokenHash: challenge.tokenHash,
        userId: challenge.userId,
        passwordFingerprint: challenge.passwordFingerprint,
        identifierKind: challenge.identifierKind,
        attempts: 0,
        expiresAt: () => `now() + :ttlMs * interval '1 millisecond'`,
      })
      .setParameter('ttlMs', challenge.ttlMs)
      .execute();
  }

  /** The live (unexpired) challenge of a token. */
  findLive(tokenHash: Buffer): Promise<MfaChallengeRecord | undefined> {
    return this.live(tokenHash, false);
  }

  /** The live challenge of a token, locked until the transaction ends. */
  lockLive(tokenHash: Buffer): Promise<MfaChallengeRecord | undefined> {
    return this.live(tokenHash, true);
  }

  private async live(tokenHash: Buffer, lock: boolean): Promise<MfaChallengeRecord | undefined> {
    const query = this.db
      .getRepository(MfaChallenge)
      .createQueryBuilder('c')
      .where('c.tokenHash = :tokenHash AND c.expiresAt > now()', { tokenHash });
    if (lock) query.setLock('pessimistic_write');
    const row = await query.getOne();
    return row
      ? {
          userId: row.userId,
          passwordFingerprint: row.passwordFingerprint,
          identifierKind: row.identifierKind,
          attempts: row.attempts,
        }
      : undefined;
  }

  /** Counts a wrong code; answers the attempts so far. */
  async countFailure(tokenHash: Buffer): Promise<number> {
    const result = await this.db
      .createQueryBuilder()
      .update(MfaChallenge)
      .set({ attempts: () => 'attempts + 1' })
      .where('token_hash = :tokenHash', { tokenHash })
      .returning(['attempts'])
      .execute();
    const rows = result.raw as { attempts: number }[];
    return rows[0]?.attempts ?? Number.MAX_SAFE_INTEGER;
  }

  /** Ends a challenge (used, or dead); false when it was gone already. */
  async delete(tokenHash: Buffer): Promise<boolean> {
    const result = await this.db.getRepository(MfaChallenge).delete({ tokenHash });
    return (result.affected ?? 0) > 0;
  }

  async deleteAllOfUser(userId: string): Promise<void> {
    await this.db.getRepository(MfaChallenge).delete({ userId });
  }

  /** Retention: challenges expired more than `olderThanMs` ago. */
  deleteExpiredBatch(olderThanMs: number, batch: number): Promise<number> {
    return deleteBatch(
      this.db,
      MfaChallenge,
      'tokenHash',
      `r.expiresAt < now() - :olderThanMs * interval '1 millisecond'`,
      { olderThanMs },
      batch,
    );
  }
}
