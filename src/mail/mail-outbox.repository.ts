import { Injectable } from '@nestjs/common';
import { TransactionHost } from '@nestjs-cls/transactional';
import { deleteBatch } from '../database/batch-delete.js';
import type { TypeOrmTx } from '../database/transactions.js';
import { MailOutboxMessage } from './entities/mail-outbox.entity.js';
import type { MailMessage } from './mail-message.js';

/** A message claimed by one worker for one lease. */
export interface ClaimedMail {
  id: string;
  recipient: string;
  template: string;
  context: Record<string, unknown> | null;
  /** Including this one. */
  attempts: number;
  claimId: string;
}

/** `mail_outbox`. In the transaction open in the caller's context, if any. */
@Injectable()
export class MailOutboxRepository {
  constructor(private readonly txHost: TransactionHost<TypeOrmTx>) {}

  /** The open transaction's manager, or the data source's outside one. */
  private get db() {
    return this.txHost.tx;
  }

  /** Whether a transaction is open in the caller's context (the message then waits for its commit). */
  get inTransaction(): boolean {
    return this.txHost.isTransactionActive();
  }

  async insert(message: MailMessage): Promise<void> {
    await this.db.getRepository(MailOutboxMessage).insert({
      recipient: message.to,
      template: message.template,
      context: message.context,
    });
  }

  /**
   * A statement of the same cost as `insert` that queues nothing (requests about unknown
   * addresses make the same round trips as real ones).
   */
  async insertNothing(): Promise<void> {
    await this.db
      .getRepository(MailOutboxMessage)
      .createQueryBuilder('m')
      .where('false')
      .getExists();
  }

  /**
   * Claims the most overdue message, if any: the row lock (`FOR UPDATE SKIP LOCKED`) makes
   * concurrent workers pick different rows, and the claim itself is a lease, since it moves
   * the message `leaseMs` into the future. Nobody else sees it as due until then; if this
   * worker dies before recording the outcome, the message becomes due again.
   */
  async claimNext(leaseMs: number): Promise<ClaimedMail | undefined> {
    const due = this.db
      .getRepository(MailOutboxMessage)
      .createQueryBuilder('d')
      .select('d.id')
      .where(`d.status = 'pending' AND d.nextAttemptAt <= now()`)
      .orderBy('d.nextAttemptAt')
      .limit(1)
      .setLock('pessimistic_write')
      .setOnLocked('skip_locked');
    const result = await this.db
      .createQueryBuilder()
      .update(MailOutboxMessage)
      .set({
        attempts: () => 'attempts + 1',
        claimId: () => 'gen_random_uuid()',
        nextAttemptAt: () => `now() + :leaseMs * interval '1 millisecond'`,
      })
      .where(`id = (${due.getQuery()})`)
      .setParameter('leaseMs', leaseMs)
      .returning(['id', 'recipient', 'template', 'context', 'attempts', 'claimId'])
      .execute();
    const row = (result.raw as (Omit<ClaimedMail, 'claimId'> & { claim_id: string })[])[0];
    return (
      row && {
        id: row.id,
        recipient: row.recipient,
        template: row.template,
        context: row.context,
        attempts: row.attempts,
        claimId: row.claim_id,
      }
    );
  }

  /** Records delivery and drops the variables, which may hold a one-time link. */
  async markSent(mail: ClaimedMail): Promise<void> {
    await this.db
      .createQueryBuilder()
      .update(MailOutboxMessage)
      .set({ status: 'sent', sentAt: () => 'now()', context: null, claimId: null, lastError: null })
      .where('id = :id AND claim_id = :claimId', mail)
      .execute();
  }

  /** Schedules another attempt after `retryInMs`, or gives up (`retryInMs` undefined). */
  async markFailed(mail: ClaimedMail, error: string, retryInMs: number | undefined): Promise<void> {
    await this.db
      .createQueryBuilder()
      .update(MailOutboxMessage)
      .set(
        retryInMs === undefined
          ? { claimId: null, lastError: error, status: 'failed', context: null }
          : {
              claimId: null,
              lastError: error,
              nextAttemptAt: () => `now() + :retryInMs * interval '1 millisecond'`,
            },
      )
      .setParameter('retryInMs', retryInMs ?? 0)
      .where('id = :id AND claim_id = :claimId', mail)
      .execute();
  }

  countPending(): Promise<number> {
    return this.db.getRepository(MailOutboxMessage).countBy({ status: 'pending' });
  }

  /** Sent or abandoned messages finished `olderThanMs` ago; pending ones stay (retention). */
  deleteFinishedBatch(olderThanMs: number, batch: number): Promise<number> {
    return deleteBatch(
      this.db,
      MailOutboxMessage,
      'id',
      `r.status <> 'pending'
         AND COALESCE(r.sentAt, r.createdAt) < now() - :olderThanMs::float8 * interval '1 millisecond'`,
      { olderThanMs },
      batch,
    );
  }
}
