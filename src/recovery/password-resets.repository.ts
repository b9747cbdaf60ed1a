import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import type { User } from '../users/entities/user.entity.js';
import { normalizeEmail } from '../users/normalize.js';
import { USER_COLUMNS, toUser, type UserRow } from '../users/user-row.js';

export interface NewResetSecrets {
  linkTokenHash: Buffer;
  codeHmac: Buffer;
  ttlMs: number;
}

/** The live reset request of an account, read under a row lock to check a code. */
export interface LockedReset {
  user_id: string;
  link_token_hash: Buffer;
  code_hmac: Buffer | null;
}

/** SQL over `password_resets` (one row per user: a new request replaces the previous one). */
@Injectable()
export class PasswordResetsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  /**
   * Replaces the request of the active account with this email, if there is one, and
   * answers its address and id. For an unknown email the very same statement runs and changes
   * nothing, so both cases cost the same.
   */
  async replace(
    manager: EntityManager,
    email: string,
    secrets: NewResetSecrets,
  ): Promise<{ email: string; user_id: string } | undefined> {
    const [row]: { email: string | null; user_id: string | null }[] = await manager.query(
      `WITH target AS (SELECT id, email FROM users WHERE lower(email) = $1 AND active)
       INSERT INTO password_resets AS r (user_id, link_token_hash, code_hmac, expires_at)
       SELECT id, $2, $3, now() + $4 * interval '1 millisecond' FROM target
       ON CONFLICT (user_id) DO UPDATE
          SET link_token_hash = EXCLUDED.link_token_hash,
              code_hmac = EXCLUDED.code_hmac,
              code_attempts = 0,
              reset_token_hash = NULL,
              reset_token_expires_at = NULL,
              created_at = now(),
              expires_at = EXCLUDED.expires_at
       RETURNING (SELECT email FROM target) AS email, (SELECT id FROM target) AS user_id`,
      [normalizeEmail(email), secrets.linkTokenHash, secrets.codeHmac, secrets.ttlMs],
    );
    return row?.email && row.user_id ? { email: row.email, user_id: row.user_id } : undefined;
  }

  /**
   * Locks the unexpired request of this email's account (`FOR UPDATE`), so that parallel
   * guesses are checked and counted one after the other.
   */
  async lockLive(manager: EntityManager, email: string): Promise<LockedReset | undefined> {
    const rows: LockedReset[] = await manager.query(
      `SELECT r.user_id, r.link_token_hash, r.code_hmac
         FROM password_resets r JOIN users u ON u.id = r.user_id
        WHERE lower(u.email) = $1 AND u.active AND r.expires_at > now()
        FOR UPDATE OF r`,
      [normalizeEmail(email)],
    );
    return rows[0];
  }

  /** Uses up the code and records the reset token it was traded for. */
  async issueResetToken(
    manager: EntityManager,
    userId: string,
    resetTokenHash: Buffer,
    ttlMs: number,
  ): Promise<void> {
    await manager.query(
      `UPDATE password_resets
          SET code_hmac = NULL,
              reset_token_hash = $2,
              reset_token_expires_at = now() + $3 * interval '1 millisecond'
        WHERE user_id = $1`,
      [userId, resetTokenHash, ttlMs],
    );
  }

  /** The active account a live link token or reset token belongs to. */
  async findUserByToken(tokenHash: Buffer): Promise<User | undefined> {
    const rows: UserRow[] = await this.dataSource.query(
      `SELECT ${USER_COLUMNS('u')}
         FROM password_resets r JOIN users u ON u.id = r.user_id
        WHERE u.active AND ${LIVE_TOKEN}`,
      [tokenHash],
    );
    return rows[0] ? toUser(rows[0]) : undefined;
  }

  /**
   * Deletes the request a live token belongs to and answers its user: the single-use
   * check, since of two concurrent resets only one deletes the row.
   */
  async consume(manager: EntityManager, tokenHash: Buffer): Promise<string | undefined> {
    const [rows]: [{ user_id: string }[], number] = await manager.query(
      `DELETE FROM password_resets r WHERE ${LIVE_TOKEN} RETURNING r.user_id`,
      [tokenHash],
    );
    return rows[0]?.user_id;
  }

  /**
   * Sets the new password and marks the email verified: the reset proved that the user
   * reads this mailbox. Answers the address, for the "password changed" email.
   */
  async setPasswordAndVerifyEmail(
    manager: EntityManager,
    userId: string,
    passwordHash: string,
  ): Promise<string> {
    const [rows]: [{ email: string }[], number] = await manager.query(
      `UPDATE users SET password_hash = $2, email_verified = true, updated_at = now()
        WHERE id = $1 RETURNING email`,
      [userId, passwordHash],
    );
    return rows[0].email;
  }
}

/** `$1` is the hash of either the emailed link token or a reset token, unexpired. */
const LIVE_TOKEN = `((r.link_token_hash = $1 AND r.expires_at > now())
   OR (r.reset_token_hash = $1 AND r.reset_token_expires_at > now()))`;
