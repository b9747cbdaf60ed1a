import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Recovery requests per normalized email, whether or not an account has it (issue 13,
 * items 1 and 9): how many codes were sent in the current hour (the
 * RECOVERY_CODES_PER_HOUR cap) and how many wrong codes were tried against the latest
 * one (OTP_MAX_ATTEMPTS), so that an unknown email meets the same counter and the same
 * answers as a real one. Keyed by SHA-256 of "email:<normalized email>", like
 * `login_backoff`. A row is written only by an accepted forgot-password request (rate
 * limited per IP and per email) and dropped an hour after its window, so the table holds
 * at most the last hour's requests.
 */
export class CreateRecoveryRequests1763700000450 implements MigrationInterface {
  name = 'CreateRecoveryRequests1763700000450';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE recovery_requests (
        key_hash bytea PRIMARY KEY,
        -- The hour in which codes are counted against the cap starts here.
        window_started_at timestamptz NOT NULL,
        codes_sent integer NOT NULL,
        -- Wrong codes tried since the latest code was sent.
        code_attempts integer NOT NULL DEFAULT 0,
        -- The latest code stops counting attempts then (RECOVERY_TOKEN_TTL).
        expires_at timestamptz NOT NULL
      )`);
    await db.query(
      `CREATE INDEX recovery_requests_window_started_at_idx ON recovery_requests (window_started_at)`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE recovery_requests`);
  }
}
