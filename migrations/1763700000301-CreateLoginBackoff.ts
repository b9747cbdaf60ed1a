import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Consecutive failed logins per identifier (the login backoff). In PostgreSQL rather than
 * Redis: every instance shares it with or without Redis, and a password reset clears it in
 * its own transaction. Identifiers are stored as SHA-256 hashes: the table tells nobody
 * which addresses were tried, and unknown accounts are counted like real ones.
 */
export class CreateLoginBackoff1763700000301 implements MigrationInterface {
  name = 'CreateLoginBackoff1763700000301';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE login_backoff (
        -- SHA-256 of "email:<normalized email>" or "username:<normalized username>".
        key_hash bytea PRIMARY KEY,
        -- Attempts since the last success, the one in flight included.
        failures integer NOT NULL,
        last_attempt_at timestamptz NOT NULL,
        -- Attempts are refused until then.
        locked_until timestamptz
      )`);
    await db.query(
      `CREATE INDEX login_backoff_last_attempt_at_idx ON login_backoff (last_attempt_at)`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE login_backoff`);
  }
}
