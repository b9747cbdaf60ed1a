import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Second factors (issue 16): a TOTP authenticator per user (its secret sealed with
 * AES-256-GCM under a key derived from the server's secret, never stored in the clear;
 * the last 30 s step used, so that a code works once), single-use recovery codes (keyed
 * hashes), and the pending second step of a login (`mfa_token`, by its hash). `users`
 * says whether the user has a factor (the admin list shows and filters it); a session
 * keeps how it was authenticated (RFC 8176 `amr`) and when, for step-up.
 */
export class CreateSecondFactors1763700000800 implements MigrationInterface {
  name = 'CreateSecondFactors1763700000800';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE totp_factors (
        user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
        -- AES-256-GCM: 12-byte IV, 16-byte tag, ciphertext of the 20-byte secret.
        secret_sealed bytea NOT NULL,
        -- NULL until the user proves the authenticator works (enrolment confirm).
        confirmed_at timestamptz,
        -- The 30 s step of the last accepted code: a code at or before it is a replay.
        last_used_step bigint,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`
      CREATE TABLE recovery_codes (
        -- HMAC-SHA256 of the user id and the code under the server's key.
        code_hash bytea PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        used_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX recovery_codes_user_id_idx ON recovery_codes (user_id)`);
    await db.query(`
      CREATE TABLE mfa_challenges (
        -- SHA-256 of the mfa_token handed out after a correct password.
        token_hash bytea PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        -- SHA-256 of the password hash that was verified: a password change or reset
        -- since then kills the challenge.
        password_fingerprint bytea NOT NULL,
        -- How the password step named the account ('email' or 'username'): its backoff key.
        identifier_kind text NOT NULL
          CONSTRAINT mfa_challenges_identifier_kind_check CHECK (identifier_kind IN ('email', 'username')),
        attempts integer NOT NULL DEFAULT 0,
        expires_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX mfa_challenges_user_id_idx ON mfa_challenges (user_id)`);
    await db.query(`CREATE INDEX mfa_challenges_expires_at_idx ON mfa_challenges (expires_at)`);
    await db.query(`ALTER TABLE users ADD COLUMN mfa_enabled boolean NOT NULL DEFAULT false`);
    await db.query(`
      ALTER TABLE sessions
        ADD COLUMN amr text[] NOT NULL DEFAULT '{pwd}',
        ADD COLUMN authenticated_at timestamptz NOT NULL DEFAULT now()`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE sessions DROP COLUMN authenticated_at, DROP COLUMN amr`);
    await db.query(`ALTER TABLE users DROP COLUMN mfa_enabled`);
    await db.query(`DROP TABLE mfa_challenges`);
    await db.query(`DROP TABLE recovery_codes`);
    await db.query(`DROP TABLE totp_factors`);
  }
}
