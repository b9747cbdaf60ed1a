import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import {
  AUDIT_EVENT_COLUMNS,
  auditEventValues,
  type NewAuditEvent,
} from '../audit/audit.repository.js';
import { Sql } from '../database/sql.js';
import type { SessionMeta } from '../sessions/sessions.repository.js';
import type { User } from '../users/entities/user.entity.js';
import { USER_COLUMNS, toUser, type UserRow } from '../users/user-row.js';

export interface SuccessfulLogin {
  /** Chosen by the caller (a random UUID), so that the audit event can name it. */
  sessionId: string;
  userId: string;
  refreshTokenHash: Buffer;
  idleTtlMs: number;
  maxAgeMs: number;
  client: SessionMeta;
  /** The stored hash the password was verified against: nothing is written if it changed. */
  verifiedHash: string;
  /** A new hash of the password when the stored one has outdated parameters. */
  rehash: string | undefined;
  /** Login backoff counters to clear (none when the backoff is off). */
  backoffKeys: Buffer[];
  audit: NewAuditEvent;
}

/**
 * Everything a successful login writes, as one statement: the session and its first
 * refresh token, `last_login_at` (and the rehashed password), the cleared login backoff
 * and the `user.login` event. One round trip and one commit instead of a transaction of
 * six; a statement is atomic, so all of it is written or none (the foreign key from the
 * refresh token to its session is checked at the end of the statement).
 *
 * Only while the user is still active with the password hash that was verified: a reset,
 * a password change or a deactivation that commits while the login hashes writes nothing
 * here (no session after "every session revoked", no rehash of the old password).
 */
const RECORD_LOGIN = `
  WITH new_session AS (
    INSERT INTO sessions (id, user_id, expires_at, absolute_expires_at, user_agent, ip)
    SELECT $1::uuid, u.id, now() + $3 * interval '1 millisecond',
           now() + $4 * interval '1 millisecond', $5::text, $6::text
      FROM users u
     WHERE u.id = $2 AND u.password_hash = $16 AND u.active
    RETURNING id, user_id, expires_at
  ), first_token AS (
    INSERT INTO refresh_tokens (token_hash, session_id) SELECT $7, id FROM new_session
  ), logged_in AS (
    UPDATE users AS u SET last_login_at = now(), password_hash = COALESCE($8, u.password_hash)
      FROM new_session s
     WHERE u.id = s.user_id
    RETURNING ${USER_COLUMNS('u')}
  ), backoff_cleared AS (
    DELETE FROM login_backoff WHERE key_hash = ANY($9::bytea[])
  ), audited AS (
    INSERT INTO audit_events (${AUDIT_EVENT_COLUMNS})
    SELECT $10, $11, $12, $13, $14, $15::jsonb FROM new_session
  )
  SELECT s.expires_at AS session_expires_at, u.* FROM new_session s CROSS JOIN logged_in u`;

/** SQL of the login hot path. */
@Injectable()
export class LoginRepository {
  private readonly sql: Sql;

  constructor(@InjectDataSource() dataSource: DataSource) {
    this.sql = Sql.of(dataSource);
  }

  /**
   * Answers the updated user and the session's idle expiry; `undefined` when the user is
   * gone, deactivated or has another password since it was verified.
   */
  async recordSuccess(
    login: SuccessfulLogin,
  ): Promise<{ user: User; expiresAt: Date } | undefined> {
    const { rows } = await this.sql.query<UserRow & { session_expires_at: Date }>(RECORD_LOGIN, [
      login.sessionId,
      login.userId,
      Math.min(login.idleTtlMs, login.maxAgeMs),
      login.maxAgeMs,
      login.client.userAgent,
      login.client.ip,
      login.refreshTokenHash,
      login.rehash ?? null,
      login.backoffKeys,
      ...auditEventValues(login.audit),
      login.verifiedHash,
    ]);
    if (!rows[0]) return undefined;
    return { user: toUser(rows[0]), expiresAt: rows[0].session_expires_at };
  }
}
