import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { TransactionHost } from '@nestjs-cls/transactional';
import type { QueryResultRow } from 'pg';
import { DataSource } from 'typeorm';
import {
  auditInsertParams,
  auditInsertSql,
  type NewAuditEvent,
} from '../audit/audit.repository.js';
import { deleteBatch } from '../database/batch-delete.js';
import { Sql } from '../database/sql.js';
import type { TypeOrmTx } from '../database/transactions.js';
import { backoffClearSql } from '../rate-limit/login-backoff.repository.js';
import type { User } from '../users/entities/user.entity.js';
import { USER_COLUMNS, loginUpdateSql, toUser, type UserRow } from '../users/user-row.js';
import { RefreshToken } from './entities/refresh-token.entity.js';
import { Session } from './entities/session.entity.js';

export interface SessionMeta {
  userAgent: string | null;
  ip: string | null;
}

/** A session as the sessions list shows it. */
export type SessionRecord = Pick<
  Session,
  'id' | 'createdAt' | 'lastUsedAt' | 'expiresAt' | 'userAgent' | 'ip'
>;

/** The state of a presented refresh token, read under a row lock. */
export interface LockedRefreshToken {
  sessionId: string;
  user: User;
  successorSealed: Buffer | null;
  /** Not rotated yet. */
  isCurrent: boolean;
  /** Rotated within the reuse grace window. */
  inGrace: boolean;
  /** The session is live (LIVE_SESSION) and its user active. */
  sessionLive: boolean;
  sessionExpiresAt: Date;
  /** How the session was authenticated (RFC 8176). */
  sessionAmr: string[];
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

export interface RotatedSession {
  sessionId: string;
  sessionExpiresAt: Date;
  sessionAmr: string[];
  user: User;
}

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
  /** How the user authenticated (RFC 8176 `amr`): `['pwd']`, or with a second factor. */
  amr: string[];
  audit: NewAuditEvent;
}

/**
 * The one definition of a live session (alias `s`): not revoked, neither idle-expired nor
 * past its absolute expiry. Whether its user is active is a separate condition (`u.active`)
 * where a user is joined: the guard, refresh and login check it too. Column names, so the
 * same text serves the hand-written statements and the query builders (alias `s` in both).
 */
const LIVE_SESSION = `s.revoked_at IS NULL AND s.expires_at > now() AND s.absolute_expires_at > now()`;
/** Idle expiry pushed forward by `$n` ms, never past the absolute one. */
const pushedExpiry = (ms: string) =>
  `LEAST(now() + ${ms} * interval '1 millisecond', s.absolute_expires_at)`;

/**
 * Hand-written because it is the guard's whole per-request database work (bench: `/me`
 * c=50, ratio to the bare route): the user behind a live session, one prepared statement.
 */
const FIND_PRINCIPAL = `SELECT ${USER_COLUMNS('u')}, s.authenticated_at AS session_authenticated_at
    FROM sessions s JOIN users u ON u.id = s.user_id
   WHERE s.id = $1 AND s.user_id = $2 AND ${LIVE_SESSION} AND u.active`;

/**
 * Hand-written for the bench's refresh c=50 figure: a refresh with the current token of a
 * live session of an active user, in one statement (one round trip, its own transaction):
 * lock the token and its session, mark the token rotated with its sealed successor, insert
 * the successor, push the session's idle expiry forward and write `session.refreshed`. For
 * any other token it answers no row and changes nothing. A concurrent refresh with the
 * same token waits for the row locks, re-reads the token, finds it rotated and answers no
 * row: the caller then runs `lockRefreshToken`'s transaction, which knows about the grace
 * window and reuse.
 */
const ROTATE_CURRENT = `
  WITH current_token AS (
    SELECT t.token_hash, t.session_id
      FROM refresh_tokens t
      JOIN sessions s ON s.id = t.session_id
      JOIN users u ON u.id = s.user_id
     WHERE t.token_hash = $1 AND t.rotated_at IS NULL AND ${LIVE_SESSION} AND u.active
       FOR UPDATE OF t, s
  ), rotated AS (
    UPDATE refresh_tokens t SET rotated_at = clock_timestamp(), successor_sealed = $2
      FROM current_token c
     WHERE t.token_hash = c.token_hash
    RETURNING t.session_id
  ), successor AS (
    INSERT INTO refresh_tokens (token_hash, session_id) SELECT $3, session_id FROM rotated
  ), touched AS (
    UPDATE sessions s SET last_used_at = now(), expires_at = ${pushedExpiry('$4')}
      FROM rotated r
     WHERE s.id = r.session_id
    RETURNING s.id, s.user_id, s.expires_at, s.amr
  ), audited AS (
    ${auditInsertSql(`$5, user_id, user_id, $6, $7, $8::jsonb || jsonb_build_object('sessionId', id) FROM touched`)}
  )
  SELECT s.id AS session_id, s.expires_at AS session_expires_at, s.amr AS session_amr,
         ${USER_COLUMNS('u')}
    FROM touched s JOIN users u ON u.id = s.user_id`;

/**
 * Hand-written for the bench's login figure (login / raw argon2 verifies): everything a
 * successful login writes, as one statement: the session and its first refresh token,
 * `last_login_at` (and the rehashed password), the cleared login backoff and the
 * `user.login` event. A statement is atomic (the foreign key from the refresh token to its
 * session is checked at its end). Only while the user is still active with the password
 * hash that was verified: a reset, a password change or a deactivation that commits while
 * the login hashes writes nothing here.
 */
const RECORD_LOGIN = `
  WITH new_session AS (
    INSERT INTO sessions (id, user_id, expires_at, absolute_expires_at, user_agent, ip, amr)
    SELECT $1::uuid, u.id, now() + $3 * interval '1 millisecond',
           now() + $4 * interval '1 millisecond', $5::text, $6::text, $17::text[]
      FROM users u
     WHERE u.id = $2 AND u.password_hash = $16 AND u.active
       -- A second factor turned on while the password was checked: no password-only session.
       AND (NOT u.mfa_enabled OR 'mfa' = ANY($17::text[]))
    RETURNING id, user_id, expires_at
  ), first_token AS (
    INSERT INTO refresh_tokens (token_hash, session_id) SELECT $7, id FROM new_session
  ), logged_in AS (
    ${loginUpdateSql('new_session', '$8')}
  ), backoff_cleared AS (
    ${backoffClearSql('$9')}
  ), audited AS (
    ${auditInsertSql('$10, $11, $12, $13, $14, $15::jsonb FROM new_session')}
  )
  SELECT s.expires_at AS session_expires_at, u.* FROM new_session s CROSS JOIN logged_in u`;

/** `sessions` and `refresh_tokens` (a refresh token belongs to its session). */
@Injectable()
export class SessionsRepository {
  private readonly sql: Sql;

  constructor(
    @InjectDataSource() dataSource: DataSource,
    private readonly txHost: TransactionHost<TypeOrmTx>,
  ) {
    this.sql = Sql.of(dataSource);
  }

  /** The open transaction's manager, or the data source's outside one. */
  private get db() {
    return this.txHost.tx;
  }

  /** The user behind a live session, in one prepared statement: all the guard asks the database. */
  async findPrincipal(
    sessionId: string,
    userId: string,
  ): Promise<{ user: User; authenticatedAt: Date } | undefined> {
    const { rows } = await this.sql.query<UserRow & { session_authenticated_at: Date }>(
      FIND_PRINCIPAL,
      [sessionId, userId],
    );
    const row = rows[0];
    return row && { user: toUser(row), authenticatedAt: row.session_authenticated_at };
  }

  /** The user proved who they are again in this session (step-up): now is its moment. */
  async markAuthenticated(sessionId: string): Promise<boolean> {
    const result = await this.db
      .createQueryBuilder()
      .update(Session)
      .set({ authenticatedAt: () => 'now()' })
      .where('id = :sessionId', { sessionId })
      .andWhere('revoked_at IS NULL')
      .execute();
    return (result.affected ?? 0) > 0;
  }

  /**
   * Answers the updated user and the session's idle expiry; `undefined` when the user is
   * gone, deactivated or has another password since it was verified.
   */
  async recordLogin(login: SuccessfulLogin): Promise<{ user: User; expiresAt: Date } | undefined> {
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
      ...auditInsertParams(login.audit),
      login.verifiedHash,
      login.amr,
    ]);
    if (!rows[0]) return undefined;
    return { user: toUser(rows[0]), expiresAt: rows[0].session_expires_at };
  }

  /**
   * The one rotation of a refresh token, in one statement (see ROTATE_CURRENT); `undefined`
   * when the token is not the current one of a live session, and then nothing was changed.
   * In the caller's transaction when one is open (after `lockRefreshToken`).
   */
  async rotateCurrent(rotation: CurrentTokenRotation): Promise<RotatedSession | undefined> {
    const [type, , , ip, userAgent, metadata] = auditInsertParams(rotation.audit);
    const { rows } = await this.hotPath<
      UserRow & { session_id: string; session_expires_at: Date; session_amr: string[] }
    >(ROTATE_CURRENT, [
      rotation.tokenHash,
      rotation.successorSealed,
      rotation.successorHash,
      rotation.idleTtlMs,
      type,
      ip,
      userAgent,
      metadata,
    ]);
    const row = rows[0];
    return (
      row && {
        sessionId: row.session_id,
        sessionExpiresAt: row.session_expires_at,
        sessionAmr: row.session_amr,
        user: toUser(row),
      }
    );
  }

  /**
   * Locks the token and its session (`FOR UPDATE`), so concurrent refreshes with one token
   * run one after the other and the later ones see the rotation of the first. In the
   * caller's transaction. Hand-written with ROTATE_CURRENT (refresh rotation, bench: refresh
   * c=50): one statement answers every question the grace-window and reuse rules ask.
   */
  async lockRefreshToken(
    tokenHash: Buffer,
    graceMs: number,
  ): Promise<LockedRefreshToken | undefined> {
    const rows: (UserRow & {
      session_id: string;
      successor_sealed: Buffer | null;
      is_current: boolean;
      in_grace: boolean;
      session_live: boolean;
      session_expires_at: Date;
      session_amr: string[];
    })[] = await this.db.query(
      `SELECT t.session_id, t.successor_sealed, ${USER_COLUMNS('u')},
              t.rotated_at IS NULL AS is_current,
              t.rotated_at IS NOT NULL
                AND clock_timestamp() - t.rotated_at <= $2 * interval '1 millisecond' AS in_grace,
              ${LIVE_SESSION} AND u.active AS session_live,
              s.expires_at AS session_expires_at, s.amr AS session_amr
         FROM refresh_tokens t
         JOIN sessions s ON s.id = t.session_id
         JOIN users u ON u.id = s.user_id
        WHERE t.token_hash = $1
        FOR UPDATE OF t, s`,
      [tokenHash, graceMs],
    );
    const row = rows[0];
    return (
      row && {
        sessionId: row.session_id,
        user: toUser(row),
        successorSealed: row.successor_sealed,
        isCurrent: row.is_current,
        inGrace: row.in_grace,
        sessionLive: row.session_live,
        sessionExpiresAt: row.session_expires_at,
        sessionAmr: row.session_amr,
      }
    );
  }

  /**
   * The live session of a refresh token that still works: the current one, or a rotated
   * one within the reuse grace window (another tab may not have seen the rotation yet).
   * A token rotated longer ago than that opens nothing, as for refresh.
   */
  async findSessionByRefreshToken(
    tokenHash: Buffer,
    graceMs: number,
  ): Promise<{ sessionId: string; userId: string } | undefined> {
    const session = await this.db
      .getRepository(Session)
      .createQueryBuilder('s')
      .select(['s.id', 's.userId'])
      .innerJoin(RefreshToken, 't', 't.sessionId = s.id')
      .where('t.tokenHash = :tokenHash', { tokenHash })
      .andWhere(LIVE_SESSION)
      .andWhere(
        `(t.rotatedAt IS NULL OR clock_timestamp() - t.rotatedAt <= :graceMs * interval '1 millisecond')`,
        { graceMs },
      )
      .getOne();
    return session ? { sessionId: session.id, userId: session.userId } : undefined;
  }

  /** Revokes the session if it is not revoked yet; in the caller's transaction if any. */
  async revoke(sessionId: string): Promise<boolean> {
    const result = await this.revoking()
      .where('id = :sessionId', { sessionId })
      .andWhere('revoked_at IS NULL')
      .execute();
    return (result.affected ?? 0) > 0;
  }

  /** Revokes every live session of the user but `exceptSessionId`; answers how many. */
  async revokeAllOfUser(userId: string, exceptSessionId?: string): Promise<number> {
    const query = this.revoking()
      .where('user_id = :userId', { userId })
      .andWhere('revoked_at IS NULL');
    if (exceptSessionId) query.andWhere('id <> :exceptSessionId', { exceptSessionId });
    return (await query.execute()).affected ?? 0;
  }

  /** Revokes the session when it is a live one of `userId`; false otherwise. */
  async revokeOwned(userId: string, sessionId: string): Promise<boolean> {
    const live = this.db
      .getRepository(Session)
      .createQueryBuilder('s')
      .select('s.id')
      .where('s.id = :sessionId AND s.userId = :userId')
      .andWhere(LIVE_SESSION);
    const result = await this.revoking()
      .where(`id IN (${live.getQuery()})`)
      .setParameters({ sessionId, userId })
      .execute();
    return (result.affected ?? 0) > 0;
  }

  /** The user's live sessions, most recently used first. */
  listLive(userId: string): Promise<SessionRecord[]> {
    return this.db
      .getRepository(Session)
      .createQueryBuilder('s')
      .select(['s.id', 's.createdAt', 's.lastUsedAt', 's.expiresAt', 's.userAgent', 's.ip'])
      .where('s.userId = :userId', { userId })
      .andWhere(LIVE_SESSION)
      .orderBy('s.lastUsedAt', 'DESC')
      .getMany();
  }

  /**
   * Deletes up to `batch` sessions that ended (revoked or expired) more than `olderThanMs`
   * ago, with their refresh tokens (ON DELETE CASCADE); for the retention cleanup. The rows
   * are picked `FOR UPDATE SKIP LOCKED`: concurrent cleaners take disjoint batches.
   */
  async deleteEndedBatch(olderThanMs: number, batch: number): Promise<number> {
    return deleteBatch(
      this.db,
      Session,
      'id',
      `LEAST(COALESCE(r.revokedAt, 'infinity'::timestamptz), r.expiresAt, r.absoluteExpiresAt)
         < now() - :olderThanMs::float8 * interval '1 millisecond'`,
      { olderThanMs },
      batch,
    );
  }

  /**
   * A hand-written statement as a prepared statement on the pool, or on the open
   * transaction's connection when there is one (a statement on the pool would wait for
   * the transaction's own row locks).
   */
  private async hotPath<T extends QueryResultRow>(
    text: string,
    values: unknown[],
  ): Promise<{ rows: T[] }> {
    if (!this.txHost.isTransactionActive()) return this.sql.query<T>(text, values);
    return { rows: await this.db.query<T[]>(text, values) };
  }

  private revoking() {
    return this.db
      .createQueryBuilder()
      .update(Session)
      .set({ revokedAt: () => 'now()' });
  }
}
