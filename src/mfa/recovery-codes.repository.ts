import { Injectable } from '@nestjs/common';
import { TransactionHost } from '@nestjs-cls/transactional';
import { IsNull } from 'typeorm';
import type { TypeOrmTx } from '../database/transactions.js';
import { RecoveryCode } from './entities/recovery-code.entity.js';

/** `recovery_codes`. In the transaction open in the caller's context, if any. */
@Injectable()
export class RecoveryCodesRepository {
  constructor(private readonly txHost: TransactionHost<TypeOrmTx>) {}

  private get db() {
    return this.txHost.tx;
  }

  /** Replaces every code of the user with these (hashes). */
  async replace(userId: string, codeHashes: Buffer[]): Promise<void> {
    await this.deleteAll(userId);
    await this.db
      .createQueryBuilder()
      .insert()
      .into(RecoveryCode)
      .values(codeHashes.map((codeHash) => ({ codeHash, userId })))
      .execute();
  }

  /** Marks the unused code used; false when there is no such unused code of the user. */
  async use(userId: string, codeHash: Buffer): Promise<boolean> {
    const result = await this.db
      .createQueryBuilder()
      .update(RecoveryCode)
      .set({ usedAt: () => 'now()' })
      .where('code_hash = :codeHash AND user_id = :userId AND used_at IS NULL', {
        codeHash,
        userId,
      })
      .execute();
    return (result.affected ?? 0) > 0;
  }

  remaining(userId: string): Promise<number> {
    return this.db.getRepository(RecoveryCode).count({ where: { userId, usedAt: IsNull() } });
  }

  async deleteAll(userId: string): Promise<void> {
    await this.db.getRepository(RecoveryCode).delete({ userId });
  }
}
