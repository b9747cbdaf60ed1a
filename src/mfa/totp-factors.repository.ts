import { Injectable } from '@nestjs/common';
import { TransactionHost } from '@nestjs-cls/transactional';
import type { TypeOrmTx } from '../database/transactions.js';
import { TotpFactor } from './entities/totp-factor.entity.js';

export interface TotpFactorRecord {
  userId: string;
  secretSealed: Buffer;
  confirmed: boolean;
}

/** `totp_factors` (one per user). In the transaction open in the caller's context, if any. */
@Injectable()
export class TotpFactorsRepository {
  constructor(private readonly txHost: TransactionHost<TypeOrmTx>) {}

  private get db() {
    return this.txHost.tx;
  }

  async find(userId: string): Promise<TotpFactorRecord | undefined> {
    const row = await this.db.getRepository(TotpFactor).findOne({ where: { userId } });
    return row
      ? { userId: row.userId, secretSealed: row.secretSealed, confirmed: row.confirmedAt !== null }
      : undefined;
  }

  /** A new pending (unconfirmed) factor, replacing a pending one; never a confirmed one. */
  async savePending(userId: string, secretSealed: Buffer): Promise<boolean> {
    const result = await this.db
      .createQueryBuilder()
      .insert()
      .into(TotpFactor)
      .values({ userId, secretSealed, confirmedAt: null, lastUsedStep: null })
      .orUpdate(['secret_sealed', 'created_at'], ['user_id'], {
        overwriteCondition: { where: 'totp_factors.confirmed_at IS NULL' },
      })
      .returning(['user_id'])
      .execute();
    return (result.raw as unknown[]).length > 0;
  }

  /** Marks the pending factor confirmed with the step of the code that proved it. */
  async confirm(userId: string, secretSealed: Buffer, step: number): Promise<boolean> {
    const result = await this.db
      .createQueryBuilder()
      .update(TotpFactor)
      .set({ confirmedAt: () => 'now()', lastUsedStep: String(step) })
      .where('user_id = :userId AND confirmed_at IS NULL AND secret_sealed = :secretSealed', {
        userId,
        secretSealed,
      })
      .execute();
    return (result.affected ?? 0) > 0;
  }

  /**
   * Records `step` as used when it is later than the last used one: false for a replay
   * (a code of that step or an earlier one was accepted already). Atomic: of two requests
   * with the same code, one wins.
   */
  async useStep(userId: string, step: number): Promise<boolean> {
    const result = await this.db
      .createQueryBuilder()
      .update(TotpFactor)
      .set({ lastUsedStep: String(step) })
      .where('user_id = :userId AND confirmed_at IS NOT NULL', { userId })
      .andWhere('(last_used_step IS NULL OR last_used_step < :step)', { step })
      .execute();
    return (result.affected ?? 0) > 0;
  }

  async delete(userId: string): Promise<boolean> {
    const result = await this.db.getRepository(TotpFactor).delete({ userId });
    return (result.affected ?? 0) > 0;
  }
}
