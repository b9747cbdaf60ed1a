import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Passkeys (issue 16, WebAuthn): a user's registered credentials (public key, signature
 * counter, name) and the challenges handed out for a registration or an assertion, stored
 * server-side by their hash so that each is used once and dies after a few minutes.
 */
export class CreatePasskeys1763700000900 implements MigrationInterface {
  name = 'CreatePasskeys1763700000900';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE passkeys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        -- The credential id as the authenticator gave it (base64url).
        credential_id text NOT NULL,
        -- The COSE public key.
        public_key bytea NOT NULL,
        -- The authenticator's signature counter: an assertion must exceed it (a clone does not).
        counter bigint NOT NULL DEFAULT 0,
        transports text[] NOT NULL DEFAULT '{}',
        device_type text NOT NULL
          CONSTRAINT passkeys_device_type_check CHECK (device_type IN ('singleDevice', 'multiDevice')),
        backed_up boolean NOT NULL DEFAULT false,
        name varchar(64) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz
      )`);
    await db.query(`CREATE UNIQUE INDEX passkeys_credential_id_key ON passkeys (credential_id)`);
    await db.query(`CREATE INDEX passkeys_user_id_idx ON passkeys (user_id)`);
    await db.query(`
      CREATE TABLE webauthn_challenges (
        -- SHA-256 of the challenge (base64url text) the options carried.
        challenge_hash bytea PRIMARY KEY,
        -- Whose registration or second step it is; NULL for a username-less sign-in.
        user_id uuid REFERENCES users (id) ON DELETE CASCADE,
        purpose text NOT NULL
          CONSTRAINT webauthn_challenges_purpose_check CHECK (purpose IN ('registration', 'authentication')),
        expires_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX webauthn_challenges_user_id_idx ON webauthn_challenges (user_id)`);
    await db.query(
      `CREATE INDEX webauthn_challenges_expires_at_idx ON webauthn_challenges (expires_at)`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE webauthn_challenges`);
    await db.query(`DROP TABLE passkeys`);
  }
}
