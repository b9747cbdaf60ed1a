import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One-time secrets of recovery and email verification. Each table keeps at most one row
 * per user (the primary key), so issuing a new secret replaces, and thereby invalidates,
 * the previous one. Only hashes are stored.
 */
export class CreateRecoveryTokens1763700000201 implements MigrationInterface {
  name = 'CreateRecoveryTokens1763700000201';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE password_resets (
        user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
        -- SHA-256 of the emailed link token (256 random bits).
        link_token_hash bytea NOT NULL,
        -- HMAC-SHA256 of the 6-digit code under a server key; NULL once the code is used.
        code_hmac bytea,
        code_attempts integer NOT NULL DEFAULT 0,
        -- SHA-256 of the reset_token that a correct code is traded for.
        reset_token_hash bytea,
        reset_token_expires_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL
      )`);
    await db.query(
      `CREATE UNIQUE INDEX password_resets_link_token_key ON password_resets (link_token_hash)`,
    );
    await db.query(
      `CREATE UNIQUE INDEX password_resets_reset_token_key ON password_resets (reset_token_hash)`,
    );
    await db.query(`
      CREATE TABLE email_verifications (
        user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
        token_hash bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL
      )`);
    await db.query(
      `CREATE UNIQUE INDEX email_verifications_token_key ON email_verifications (token_hash)`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE email_verifications`);
    await db.query(`DROP TABLE password_resets`);
  }
}
