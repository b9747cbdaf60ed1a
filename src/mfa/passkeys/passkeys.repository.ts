import { Injectable } from '@nestjs/common';
import { TransactionHost } from '@nestjs-cls/transactional';
import type { TypeOrmTx } from '../../database/transactions.js';
import { Passkey } from '../entities/passkey.entity.js';

/** A user's passkey, as the service and the API see it. */
export interface PasskeyRecord {
  id: string;
  userId: string;
  credentialId: string;
  publicKey: Buffer;
  counter: number;
  transports: string[];
  deviceType: 'singleDevice' | 'multiDevice';
  backedUp: boolean;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

export type NewPasskey = Omit<PasskeyRecord, 'id' | 'createdAt' | 'lastUsedAt'>;

function record(row: Passkey): PasskeyRecord {
  return {
    id: row.id,
    userId: row.userId,
    credentialId: row.credentialId,
    publicKey: row.publicKey,
    counter: Number(row.counter),
    transports: row.transports,
    deviceType: row.deviceType,
    backedUp: row.backedUp,
    name: row.name,
    createdAt: row.createdAt,
    lastUsedAt: row.lastUsedAt,
  };
}

/** `passkeys`. In the transaction open in the caller's context, if any. */
@Injectable()
export class PasskeysRepository {
  constructor(private readonly txHost: TransactionHost<TypeOrmTx>) {}

  private get repo() {
    return this.txHost.tx.getRepository(Passkey);
  }

  async listOfUser(userId: string): Promise<PasskeyRecord[]> {
    const rows = await this.repo.find({ where: { userId }, order: { createdAt: 'DESC' } });
    return rows.map(record);
  }

  countOfUser(userId: string): Promise<number> {
    return this.repo.count({ where: { userId } });
  }

  async findOfUser(userId: string, id: string): Promise<PasskeyRecord | undefined> {
    const row = await this.repo.findOne({ where: { userId, id } });
    return row ? record(row) : undefined;
  }

  async findByCredentialId(credentialId: string): Promise<PasskeyRecord | undefined> {
    const row = await this.repo.findOne({ where: { credentialId } });
    return row ? record(row) : undefined;
  }

  /** Undefined when the credential is registered already (to anyone). */
  async insert(passkey: NewPasskey): Promise<PasskeyRecord | undefined> {
    const result = await this.txHost.tx
      .createQueryBuilder()
      .insert()
      .into(Passkey)
      .values({ ...passkey, counter: String(passkey.counter) })
      .orIgnore()
      .returning('*')
      .execute();
    const rows = result.raw as Record<string, unknown>[];
    if (rows.length === 0) return undefined;
    return this.findByCredentialId(passkey.credentialId);
  }

  /**
   * Records a verified assertion: the new counter, only if it still moves forward (of two
   * requests with one assertion, one wins), and when the passkey was used.
   */
  async recordUse(id: string, previousCounter: number, newCounter: number): Promise<boolean> {
    const result = await this.repo
      .createQueryBuilder()
      .update(Passkey)
      .set({ counter: String(newCounter), lastUsedAt: () => 'now()' })
      .where('id = :id AND counter = :previousCounter', {
        id,
        previousCounter: String(previousCounter),
      })
      .execute();
    return (result.affected ?? 0) > 0;
  }

  async rename(userId: string, id: string, name: string): Promise<PasskeyRecord | undefined> {
    const result = await this.repo.update({ userId, id }, { name });
    return (result.affected ?? 0) > 0 ? this.findOfUser(userId, id) : undefined;
  }

  async delete(userId: string, id: string): Promise<boolean> {
    const result = await this.repo.delete({ userId, id });
    return (result.affected ?? 0) > 0;
  }

  async deleteAllOfUser(userId: string): Promise<number> {
    const result = await this.repo.delete({ userId });
    return result.affected ?? 0;
  }
}
