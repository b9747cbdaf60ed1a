import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The transactional outbox: a message is inserted in the same transaction as whatever it
 * announces (a token, a password change), and the delivery worker of any instance sends it.
 */
export class CreateMailOutbox1763700000200 implements MigrationInterface {
  name = 'CreateMailOutbox1763700000200';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE mail_outbox (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        recipient text NOT NULL,
        template text NOT NULL,
        -- Template variables; they can hold a one-time link, so they are cleared once the
        -- message is sent or given up on.
        context jsonb,
        status text NOT NULL DEFAULT 'pending'
          CONSTRAINT mail_outbox_status_check CHECK (status IN ('pending', 'sent', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        -- When a pending message is due. Claiming a message pushes it one lease ahead, so a
        -- worker that dies mid-send leaves it to be retried when the lease runs out.
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        -- Set by each claim; a worker only records the outcome of its own claim.
        claim_id uuid,
        last_error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz
      )`);
    await db.query(
      `CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_attempt_at) WHERE status = 'pending'`,
    );
    await db.query(
      `CREATE INDEX mail_outbox_finished_idx ON mail_outbox (created_at) WHERE status <> 'pending'`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE mail_outbox`);
  }
}
