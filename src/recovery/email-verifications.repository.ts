import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import type { User } from '../users/entities/user.entity.js';
import { normalizeEmail } from '../users/normalize.js';
import { USER_COLUMNS, toUser, type UserRow } from '../users/user-row.js';

/** SQL over `email_verifications` (one row per user: a new link replaces the previous one). */
@Injectable()
export class EmailVerificationsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  async issue(
    manager: EntityManager,
    userId: string,
    tokenHash: Buffer,
    ttlMs: number,
  ): Promise<void> {
    await manager.query(
      `INSERT INTO email_verifications (user_id, token_hash, expires_at)
       VALUES ($1, $2, now() + $3 * interval '1 millisecond')
       ON CONFLICT (user_id) DO UPDATE
          SET token_hash = EXCLUDED.token_hash, created_at = now(), expires_at = EXCLUDED.expires_at`,
      [userId, tokenHash, ttlMs],
    );
  }

  /**
   * Issues a new link to the active, still unverified account with this email, if there is
   * one, and answers its address. Otherwise the same statement runs and changes nothing.
   */
  async reissueByEmail(
    manager: EntityManager,
    email: string,
    tokenHash: Buffer,
    ttlMs: number,
  ): Promise<{ email: string } | undefined> {
    const [row]: { email: string }[] = await manager.query(
      `WITH target AS (
         SELECT id, email FROM users WHERE lower(email) = $1 AND active AND NOT email_verified)
       INSERT INTO email_verifications AS v (user_id, token_hash, expires_at)
       SELECT id, $2, now() + $3 * interval '1 millisecond' FROM target
       ON CONFLICT (user_id) DO UPDATE
          SET token_hash = EXCLUDED.token_hash, created_at = now(), expires_at = EXCLUDED.expires_at
       RETURNING (SELECT email FROM target) AS email`,
      [normalizeEmail(email), tokenHash, ttlMs],
    );
    return row;
  }

  /**
   * Uses up a live token and marks its user's email verified, in one statement: of two
   * concurrent uses only one finds the row.
   */
  async consume(tokenHash: Buffer, manager?: EntityManager): Promise<User | undefined> {
    const [rows]: [UserRow[], number] = await (manager ?? this.dataSource.manager).query(
      `WITH used AS (
         DELETE FROM email_verifications WHERE token_hash = $1 AND expires_at > now()
         RETURNING user_id)
       UPDATE users u SET email_verified = true, updated_at = now()
         FROM used WHERE u.id = used.user_id
       RETURNING ${USER_COLUMNS('u')}`,
      [tokenHash],
    );
    return rows[0] ? toUser(rows[0]) : undefined;
  }

  /** Drops the pending link of a user whose email has just been proven another way. */
  async discard(manager: EntityManager, userId: string): Promise<void> {
    await manager.query(`DELETE FROM email_verifications WHERE user_id = $1`, [userId]);
  }
}
