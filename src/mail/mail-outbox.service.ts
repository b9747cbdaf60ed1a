import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { MailMessage } from './mail-message.js';
import { MailOutboxRepository } from './mail-outbox.repository.js';
import { OutboxWorker } from './outbox-worker.js';

/**
 * How the rest of the service sends email: it queues a message in its own transaction and
 * never waits for SMTP. The message exists exactly when the transaction that announces it
 * commits (the transactional outbox pattern); the worker delivers it.
 */
@Injectable()
export class MailOutbox {
  constructor(
    private readonly repository: MailOutboxRepository,
    private readonly worker: OutboxWorker,
  ) {}

  /**
   * Runs `work` in a transaction and, once it has committed, wakes this instance's worker
   * so that a message queued in it goes out at once rather than at the next poll.
   */
  async inTransaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    const result = await this.repository.transaction(work);
    this.worker.wake();
    return result;
  }

  /** Queues `message` in the caller's transaction. */
  enqueue(manager: EntityManager, message: MailMessage): Promise<void> {
    return this.repository.insert(manager, message);
  }

  /**
   * Runs the queueing statement without queueing anything, for requests about unknown
   * addresses: they then cost the same database round trips as real ones.
   */
  enqueueNothing(manager: EntityManager): Promise<void> {
    return this.repository.insertNothing(manager);
  }

  /** Messages still waiting for delivery (due or backing off), for metrics and health. */
  backlog(): Promise<number> {
    return this.repository.countPending();
  }
}
