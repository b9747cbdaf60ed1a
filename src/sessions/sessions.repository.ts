import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { AUDIT_EVENT_COLUMNS, type NewAuditEvent } from '../audit/audit.repository.js';
import { Sql } from '../database/sql.js';
import type { User } from '../users/entities/user.entity.js';
import { USER_COLUMNS, toUser, type UserRow } from '../users/user-row.js';
import { jsonbText } from '../database/jsonb.js';

export interface SessionMeta {
  userAgent: string | null;
  ip: string | null;
}

export interface SessionRow {
  id: string;
  created_at: Date;
  last_used_at: Date;
  expires_at: Date;
  user_agent: string | null;
  ip: string | null;
}

/** The state of a presented refresh token, read under a row lock. */
export interface LockedRefreshToken extends UserRow {
  session_id: string;
  successor_sealed: Buffer | null;
  is_current: boolean;
  in_grace: boolean;
  session_live: boolean;
  session_expires_at: Date;
}

export interface CurrentTokenRotation {
  tokenHash: Buffer;
  successorHash: Buffer;
  /** The successor encrypted under the presented token (for the reuse grace window). */
  successorSealed: Buffer;
  idleTtlMs: number;
  /** The `session.refreshed` event: its ip, user agent and metadata are used. */
  audit: NewAuditEvent;
}

export interface RotatedRow extends UserRow {
  session_id: string;
  session_expires_at: Date;
}

/**
 * A refresh with the current token of a live session of an active user, in one statement
 * (one round trip, its own transaction): lock the token and its session, mark the token
 * rotated with its sealed successor, insert the successor, push the session's idle expiry
 * forward (never past the absolute one) and write `session.refreshed`. For any other
 * token it answers no row and changes nothing. A concurrent refresh with the same token
 * waits for the row locks, then re-reads the token, finds it rotated and answers no row:
 * the caller then runs the transaction of `lockRefreshToken`, which knows about the grace
 * window and reuse.
 */
const ROTATE_CURRENT = `
  WITH current_token AS (
    SELECT t.token_hash, t.session_id
      FROM refresh_tokens t
      JOIN sessions s ON s.id = t.session_id
      JOIN users u ON u.id = s.user_id
     WHERE t.token_hash = $1 AND t.rotated_at IS NULL
       AND s.revoked_at IS NULL AND s.expires_at > now() AND s.absolute_expires_at > now()
       AND u.active
       FOR UPDATE OF t, s
  ), rotated AS (
    UPDATE refresh_tokens t SET rotated_at = clock_timestamp(), successor_sealed = $2
      FROM current_token c
     WHERE t.token_hash = c.token_hash
    RETURNING t.session_id
  ), successor AS (
    INSERT INTO refresh_tokens (token_hash, session_id) SELECT $3, session_id FROM rotated
  ), touched AS (
    UPDATE sessions s
       SET last_used_at = now(),
           expires_at = LEAST(now() + $4 * interval '1 millisecond', s.absolute_expires_at)
      FROM rotated r
     WHERE s.id = r.session_id
    RETURNING s.id, s.user_id, s.expires_at
  ), audited AS (
    INSERT INTO audit_events (${AUDIT_EVENT_COLUMNS})
    SELECT 'session.refreshed', user_id, user_id, $5, $6,
           $7::jsonb || jsonb_build_object('sessionId', id)
      FROM touched
  )
  SELECT s.id AS session_id, s.expires_at AS session_expires_at, ${USER_COLUMNS('u')}
    FROM touched s JOIN users u ON u.id = s.user_id`;

/** The whole per-request check of the access-token guard: the session is live, its user active. */
const FIND_PRINCIPAL = `SELECT ${USER_COLUMNS('u')}
    FROM sessions s JOIN users u ON u.id = s.user_id
   WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL
     AND s.expires_at > now() AND s.absolute_expires_at > now() AND u.active`;

/** SQL over `sessions` and `refresh_tokens`. Hot-path queries are hand-written, one round trip each. */
@Injectable()
export class SessionsRepository {
  private readonly sql: Sql;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.sql = Sql.of(dataSource);
  }

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  /** The user behind a live session, in one prepared statement: all the guard asks the database. */
  async findPrincipal(sessionId: string, userId: string): Promise<User | undefined> {
    const { rows } = await this.sql.query<UserRow>(FIND_PRINCIPAL, [sessionId, userId]);
    return rows[0] ? toUser(rows[0]) : undefined;
  }

  async insertRefreshToken(
    manager: EntityManager,
    sessionId: string,
    tokenHash: Buffer,
  ): Promise<void> {
    await manager.query(`INSERT INTO refresh_tokens (token_hash, session_id) VALUES ($1, $2)`, [
      tokenHash,
      sessionId,
    ]);
  }

  /**
   * The common refresh in one statement (see ROTATE_CURRENT); `undefined` when the token is
   * not the current one of a live session, and then nothing was changed.
   */
  async rotateCurrent(rotation: CurrentTokenRotation): Promise<RotatedRow | undefined> {
    const { rows } = await this.sql.query<RotatedRow>(ROTATE_CURRENT, [
      rotation.tokenHash,
      rotation.successorSealed,
      rotation.successorHash,
      rotation.idleTtlMs,
      rotation.audit.ip,
      rotation.audit.userAgent,
      jsonbText(rotation.audit.metadata),
    ]);
    return rows[0];
  }

  /**
   * Locks the token and its session (`FOR UPDATE`), so concurrent refreshes with one token
   * run one after the other and the later ones see the rotation of the first.
   */
  async lockRefreshToken(
    manager: EntityManager,
    tokenHash: Buffer,
    graceMs: number,
  ): Promise<LockedRefreshToken | undefined> {
    const rows: LockedRefreshToken[] = await manager.query(
      `SELECT t.session_id, t.successor_sealed, ${USER_COLUMNS('u')},
              t.rotated_at IS NULL AS is_current,
              t.rotated_at IS NOT NULL
                AND clock_timestamp() - t.rotated_at <= $2 * interval '1 millisecond' AS in_grace,
              s.revoked_at IS NULL AND s.expires_at > now() AND s.absolute_expires_at > now()
                AND u.active AS session_live,
              s.expires_at AS session_expires_at
         FROM refresh_tokens t
         JOIN sessions s ON s.id = t.session_id
         JOIN users u ON u.id = s.user_id
        WHERE t.token_hash = $1
        FOR UPDATE OF t, s`,
      [tokenHash, graceMs],
    );
    return rows[0];
  }

  async markRotated(
    manager: EntityManager,
    tokenHash: Buffer,
    successorSealed: Buffer,
  ): Promise<void> {
    await manager.query(
      `UPDATE refresh_tokens SET rotated_at = clock_timestamp(), successor_sealed = $2 WHERE token_hash = $1`,
      [tokenHash, successorSealed],
    );
  }

  /**
   * Records use and pushes the idle expiry forward, never past the absolute one; answers
   * the new expiry.
   */
  async touch(manager: EntityManager, sessionId: string, idleTtlMs: number): Promise<Date> {
    const [rows]: [{ expires_at: Date }[], number] = await manager.query(
      `UPDATE sessions
          SET last_used_at = now(),
              expires_at = LEAST(now() + $2 * interval '1 millisecond', absolute_expires_at)
        WHERE id = $1
        RETURNING expires_at`,
      [sessionId, idleTtlMs],
    );
    return rows[0].expires_at;
  }

  /**
   * The live session of a refresh token that still works: the current one, or a rotated
   * one within the reuse grace window (another tab may not have seen the rotation yet).
   * A token rotated longer ago than that opens nothing, as for refresh.
   */
  async findSessionByRefreshToken(
    tokenHash: Buffer,
    graceMs: number,
  ): Promise<{ session_id: string; user_id: string } | undefined> {
    const rows: { session_id: string; user_id: string }[] = await this.dataSource.query(
      `SELECT s.id AS session_id, s.user_id
         FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
        WHERE t.token_hash = $1 AND s.revoked_at IS NULL
          AND s.expires_at > now() AND s.absolute_expires_at > now()
          AND (t.rotated_at IS NULL
               OR clock_timestamp() - t.rotated_at <= $2 * interval '1 millisecond')`,
      [tokenHash, graceMs],
    );
    return rows[0];
  }

  async revoke(
    sessionId: string,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<boolean> {
    const result: [unknown[], number] = await manager.query(
      `UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`,
      [sessionId],
    );
    return result[1] > 0;
  }

  /** Revokes every live session of the user but `exceptSessionId`; answers how many. */
  async revokeAllOfUser(
    userId: string,
    exceptSessionId?: string,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<number> {
    const result: [unknown[], number] = await manager.query(
      `UPDATE sessions SET revoked_at = now()
        WHERE user_id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR id <> $2::uuid)`,
      [userId, exceptSessionId ?? null],
    );
    return result[1];
  }

  /** Revokes the session when it belongs to `userId`; false when there is no such live session. */
  async revokeOwned(userId: string, sessionId: string): Promise<boolean> {
    const result: [unknown[], number] = await this.dataSource.query(
      `UPDATE sessions SET revoked_at = now()
        WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL
          AND expires_at > now() AND absolute_expires_at > now()`,
      [sessionId, userId],
    );
    return result[1] > 0;
  }

  listLive(userId: string): Promise<SessionRow[]> {
    return this.dataSource.query(
      `SELECT id, created_at, last_used_at, expires_at, user_agent, ip
         FROM sessions
        WHERE user_id = $1 AND revoked_at IS NULL
          AND expires_at > now() AND absolute_expires_at > now()
        ORDER BY last_used_at DESC`,
      [userId],
    );
  }
}
