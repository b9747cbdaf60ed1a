import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import type { MailMessage } from './mail-message.js';
import { jsonbText } from '../database/jsonb.js';

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

interface ClaimedRow {
  id: string;
  recipient: string;
  template: string;
  context: Record<string, unknown> | null;
  attempts: number;
  claim_id: string;
}

const INSERT_COLUMNS = `INSERT INTO mail_outbox (recipient, template, context)`;

/** SQL over `mail_outbox`. */
@Injectable()
export class MailOutboxRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  async insert(manager: EntityManager, message: MailMessage): Promise<void> {
    await manager.query(`${INSERT_COLUMNS} VALUES ($1, $2, $3)`, [
      message.to,
      message.template,
      jsonbText(message.context),
    ]);
  }

  /** The same statement as `insert`, inserting no row. */
  async insertNothing(manager: EntityManager): Promise<void> {
    await manager.query(`${INSERT_COLUMNS} SELECT $1, $2, $3::jsonb WHERE false`, ['', '', '{}']);
  }

  /**
   * Claims the most overdue message, if any: the row lock (`FOR UPDATE SKIP LOCKED`) makes
   * concurrent workers pick different rows, and the claim itself is a lease, since it moves
   * the message `leaseMs` into the future. Nobody else sees it as due until then; if this
   * worker dies before recording the outcome, the message becomes due again.
   */
  async claimNext(leaseMs: number): Promise<ClaimedMail | undefined> {
    const [rows]: [ClaimedRow[], number] = await this.dataSource.query(
      `UPDATE mail_outbox m
          SET attempts = m.attempts + 1,
              claim_id = gen_random_uuid(),
              next_attempt_at = now() + $1 * interval '1 millisecond'
        WHERE m.id = (
          SELECT id FROM mail_outbox
           WHERE status = 'pending' AND next_attempt_at <= now()
           ORDER BY next_attempt_at
           LIMIT 1
           FOR UPDATE SKIP LOCKED)
       RETURNING m.id, m.recipient, m.template, m.context, m.attempts, m.claim_id`,
      [leaseMs],
    );
    const row = rows[0];
    return row && { ...row, claimId: row.claim_id };
  }

  /** Records delivery and drops the variables, which may hold a one-time link. */
  async markSent(mail: ClaimedMail): Promise<void> {
    await this.dataSource.query(
      `UPDATE mail_outbox
          SET status = 'sent', sent_at = now(), context = NULL, claim_id = NULL, last_error = NULL
        WHERE id = $1 AND claim_id = $2`,
      [mail.id, mail.claimId],
    );
  }

  /** Schedules another attempt after `retryInMs`, or gives up (`retryInMs` undefined). */
  async markFailed(mail: ClaimedMail, error: string, retryInMs: number | undefined): Promise<void> {
    await this.dataSource.query(
      `UPDATE mail_outbox
          SET claim_id = NULL,
              last_error = $3,
              status = CASE WHEN $4::bigint IS NULL THEN 'failed' ELSE 'pending' END,
              context = CASE WHEN $4::bigint IS NULL THEN NULL ELSE context END,
              next_attempt_at = now() + COALESCE($4::bigint, 0) * interval '1 millisecond'
        WHERE id = $1 AND claim_id = $2`,
      [mail.id, mail.claimId, error, retryInMs ?? null],
    );
  }

  async countPending(): Promise<number> {
    const rows: { count: string }[] = await this.dataSource.query(
      `SELECT count(*) AS count FROM mail_outbox WHERE status = 'pending'`,
    );
    return Number(rows[0]?.count ?? 0);
  }
}
