import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { TransactionHost } from '@nestjs-cls/transactional';
import { DataSource, type EntitySubscriberInterface, type TransactionCommitEvent } from 'typeorm';
import type { TypeOrmTx } from '../database/transactions.js';
import type { MailMessage } from './mail-message.js';
import { MailOutboxRepository } from './mail-outbox.repository.js';
import { OutboxWorker } from './outbox-worker.js';

/** Marks a transaction that queued mail: its commit wakes the worker. */
const QUEUED_MAIL = Symbol('authkit.queuedMail');

/**
 * How the rest of the service sends email: it queues a message in its own transaction and
 * never waits for SMTP. The message exists exactly when the transaction that announces it
 * commits (the transactional outbox pattern); the worker delivers it, woken right after
 * that commit so a message goes out at once rather than at the next poll.
 */
@Injectable()
export class MailOutbox implements EntitySubscriberInterface {
  constructor(
    private readonly repository: MailOutboxRepository,
    private readonly worker: OutboxWorker,
    private readonly txHost: TransactionHost<TypeOrmTx>,
    @InjectDataSource() dataSource: DataSource,
  ) {
    dataSource.subscribers.push(this);
  }

  /** Queues `message` in the transaction open in the caller's context (or on its own). */
  async enqueue(message: MailMessage): Promise<void> {
    await this.repository.insert(message);
    const runner = this.txHost.isTransactionActive() ? this.txHost.tx.queryRunner : undefined;
    if (runner) (runner.data as Record<symbol, boolean>)[QUEUED_MAIL] = true;
    else this.worker.wake();
  }

  /**
   * Runs the queueing statement without queueing anything, for requests about unknown
   * addresses: they then cost the same database round trips as real ones.
   */
  enqueueNothing(): Promise<void> {
    return this.repository.insertNothing();
  }

  /** Messages still waiting for delivery (due or backing off), for metrics and health. */
  backlog(): Promise<number> {
    return this.repository.countPending();
  }

  /** TypeORM calls this after every commit; only those that queued mail wake the worker. */
  afterTransactionCommit(event: TransactionCommitEvent): void {
    const data = event.queryRunner.data as Record<symbol, boolean>;
    if (!data[QUEUED_MAIL]) return;
    delete data[QUEUED_MAIL];
    this.worker.wake();
  }

  afterTransactionRollback(event: TransactionCommitEvent): void {
    delete (event.queryRunner.data as Record<symbol, boolean>)[QUEUED_MAIL];
  }
}
