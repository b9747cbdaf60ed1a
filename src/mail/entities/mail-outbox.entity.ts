import { Check, Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { jsonbColumn } from '../../database/jsonb.js';

export const MAIL_STATUSES = ['pending', 'sent', 'failed'] as const;
export type MailStatus = (typeof MAIL_STATUSES)[number];

/**
 * The transactional outbox: a message is inserted in the same transaction as whatever it
 * announces (a token, a password change), and the delivery worker of any instance sends it.
 */
@Entity({ name: 'mail_outbox' })
@Check('mail_outbox_status_check', `status IN ('pending', 'sent', 'failed')`)
@Index('mail_outbox_due_idx', ['nextAttemptAt'], { where: `status = 'pending'` })
@Index('mail_outbox_finished_idx', ['createdAt'], { where: `status <> 'pending'` })
export class MailOutboxMessage {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  recipient: string;

  @Column({ type: 'text' })
  template: string;

  /** Template variables; cleared once the message is sent or given up on (they may hold a link). */
  @Column({ type: 'jsonb', nullable: true, transformer: jsonbColumn })
  context: Record<string, unknown> | null;

  @Column({ type: 'text', default: 'pending' })
  status: MailStatus;

  @Column({ type: 'integer', default: 0 })
  attempts: number;

  /** When a pending message is due; a claim pushes it one lease ahead. */
  @Column({ name: 'next_attempt_at', type: 'timestamptz', default: () => 'now()' })
  nextAttemptAt: Date;

  /** Set by each claim; a worker only records the outcome of its own claim. */
  @Column({ name: 'claim_id', type: 'uuid', nullable: true })
  claimId: string | null;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'sent_at', type: 'timestamptz', nullable: true })
  sentAt: Date | null;
}
