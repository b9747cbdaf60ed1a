import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, QueryFailedError, type EntityManager } from 'typeorm';
import { AppError } from '../common/errors/app-error.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { Sql } from '../database/sql.js';
import type { User } from './entities/user.entity.js';
import type { Role } from './entities/role.js';
import { normalizeEmail, normalizeUsername } from './normalize.js';
import { USER_COLUMNS, toUser, type UserRow } from './user-row.js';
import {
  orderByClause,
  whereClause,
  type UserFilter,
  type UserListQuery,
} from './user-list-sql.js';

/** Columns an update may set, by the User property that names them. */
const UPDATABLE_COLUMNS = {
  email: 'email',
  username: 'username',
  firstName: 'first_name',
  lastName: 'last_name',
  role: 'role',
  active: 'active',
  emailVerified: 'email_verified',
  passwordHash: 'password_hash',
} as const;

export type UserChanges = Partial<Pick<User, keyof typeof UPDATABLE_COLUMNS>>;

export interface NewUser {
  email: string;
  username: string | null;
  passwordHash: string;
  firstName: string | null;
  lastName: string | null;
  role?: Role;
  active?: boolean;
  emailVerified?: boolean;
}

/** Lookups by normalized email or username; the unique indexes on lower(...) serve both. */
const FIND_BY_LOGIN = {
  email: `SELECT ${USER_COLUMNS('u')} FROM users u WHERE lower(u.email) = $1`,
  username: `SELECT ${USER_COLUMNS('u')} FROM users u WHERE lower(u.username) = $1`,
} as const;

/** SQL over `users`. Unique violations become `EMAIL_TAKEN` / `USERNAME_TAKEN`. */
@Injectable()
export class UsersRepository {
  private readonly sql: Sql;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.sql = Sql.of(dataSource);
  }

  private managerOr(manager?: EntityManager): EntityManager {
    return manager ?? this.dataSource.manager;
  }

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  async findById(id: string, manager?: EntityManager): Promise<User | undefined> {
    const rows: UserRow[] = await this.managerOr(manager).query(
      `SELECT ${USER_COLUMNS('u')} FROM users u WHERE u.id = $1`,
      [id],
    );
    return rows[0] ? toUser(rows[0]) : undefined;
  }

  /** Looks a user up by normalized email or username (the unique indexes serve both). */
  async findByLogin(
    by: 'email' | 'username',
    value: string,
    manager?: EntityManager,
  ): Promise<User | undefined> {
    // The same normalizer as the DTOs and the rate-limit keys (idempotent on their output).
    const key = by === 'email' ? normalizeEmail(value) : normalizeUsername(value);
    const rows: UserRow[] = manager
      ? await manager.query(FIND_BY_LOGIN[by], [key])
      : (await this.sql.query<UserRow>(FIND_BY_LOGIN[by], [key])).rows;
    return rows[0] ? toUser(rows[0]) : undefined;
  }

  async insert(user: NewUser, manager?: EntityManager): Promise<User> {
    try {
      const rows: UserRow[] = await this.managerOr(manager).query(
        `INSERT INTO users AS u (email, username, password_hash, first_name, last_name, role, active, email_verified)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         RETURNING ${USER_COLUMNS('u')}`,
        [
          normalizeEmail(user.email),
          user.username === null ? null : normalizeUsername(user.username),
          user.passwordHash,
          user.firstName,
          user.lastName,
          user.role ?? 'USER',
          user.active ?? true,
          user.emailVerified ?? false,
        ],
      );
      return toUser(rows[0]);
    } catch (error) {
      throw translateUniqueViolation(error);
    }
  }

  async setPasswordHash(id: string, passwordHash: string, manager?: EntityManager): Promise<void> {
    await this.managerOr(manager).query(
      `UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1`,
      [id, passwordHash],
    );
  }

  /** Reads the user and locks the row until the transaction ends. */
  async lockById(id: string, manager: EntityManager): Promise<User | undefined> {
    const rows: UserRow[] = await manager.query(
      `SELECT ${USER_COLUMNS('u')} FROM users u WHERE u.id = $1 FOR UPDATE`,
      [id],
    );
    return rows[0] ? toUser(rows[0]) : undefined;
  }

  /**
   * Locks every active admin, in id order so that concurrent callers queue up instead of
   * deadlocking, and answers their ids. A transaction that holds these locks sees the
   * committed outcome of any concurrent demotion (READ COMMITTED re-checks a locked row
   * against the WHERE clause), so counting them is race-free.
   */
  async lockActiveAdminIds(manager: EntityManager): Promise<string[]> {
    const rows: { id: string }[] = await manager.query(
      `SELECT id FROM users WHERE role = 'ADMIN' AND active ORDER BY id FOR UPDATE`,
    );
    return rows.map((row) => row.id);
  }

  async hasActiveAdmin(manager?: EntityManager): Promise<boolean> {
    const rows: unknown[] = await this.managerOr(manager).query(
      `SELECT 1 FROM users WHERE role = 'ADMIN' AND active LIMIT 1`,
    );
    return rows.length > 0;
  }

  /** Sets the given fields (and `updated_at`); `undefined` when there is no such user. */
  async update(
    id: string,
    changes: UserChanges,
    manager?: EntityManager,
  ): Promise<User | undefined> {
    const params: unknown[] = [id];
    const assignments = Object.entries(changes)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => {
        params.push(
          key === 'email' && typeof value === 'string'
            ? normalizeEmail(value)
            : key === 'username' && typeof value === 'string'
              ? normalizeUsername(value)
              : value,
        );
        return `${UPDATABLE_COLUMNS[key as keyof UserChanges]} = $${params.length}`;
      });
    try {
      const [rows]: [UserRow[], number] = await this.managerOr(manager).query(
        `UPDATE users AS u SET ${[...assignments, 'updated_at = now()'].join(', ')}
          WHERE u.id = $1 RETURNING ${USER_COLUMNS('u')}`,
        params,
      );
      return rows[0] ? toUser(rows[0]) : undefined;
    } catch (error) {
      throw translateUniqueViolation(error);
    }
  }

  /** Deletes the user; sessions and refresh tokens go with it (ON DELETE CASCADE). */
  async delete(id: string, manager?: EntityManager): Promise<boolean> {
    const [, count]: [unknown[], number] = await this.managerOr(manager).query(
      `DELETE FROM users WHERE id = $1`,
      [id],
    );
    return count > 0;
  }

  /** One page of users; `whereClause` and `orderByClause` keep each on an index. */
  async list(query: UserListQuery): Promise<User[]> {
    const where = whereClause(query);
    const n = where.params.length;
    const rows: UserRow[] = await this.dataSource.query(
      `SELECT ${USER_COLUMNS('u')} FROM users u ${where.sql}
        ${orderByClause(query.sort, query.order)} LIMIT $${n + 1} OFFSET $${n + 2}`,
      [...where.params, query.limit, query.offset],
    );
    return rows.map(toUser);
  }

  /**
   * The number of matching users, counted exactly but only up to `cap + 1`, so the cost
   * is bounded however many rows match.
   */
  async countUpTo(filter: UserFilter, cap: number): Promise<number> {
    const where = whereClause(filter);
    const rows: { count: string }[] = await this.dataSource.query(
      `SELECT count(*) AS count FROM (SELECT 1 FROM users u ${where.sql} LIMIT $${where.params.length + 1}) matching`,
      [...where.params, cap + 1],
    );
    return Number(rows[0].count);
  }

  /** PostgreSQL's own estimate of the matching rows (from table statistics), at no cost. */
  async estimateCount(filter: UserFilter): Promise<number> {
    const where = whereClause(filter);
    const rows: { 'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }] }[] =
      await this.dataSource.query(
        `EXPLAIN (FORMAT JSON) SELECT 1 FROM users u ${where.sql}`,
        where.params,
      );
    return Math.round(rows[0]['QUERY PLAN'][0].Plan['Plan Rows']);
  }
}

/** Maps a unique-index violation to the contract's 409 codes; anything else is rethrown. */
export function translateUniqueViolation(error: unknown): unknown {
  if (error instanceof QueryFailedError) {
    const driverError = error.driverError as { code?: string; constraint?: string };
    if (driverError.code === '23505') {
      if (driverError.constraint === 'users_email_key') return new AppError(ErrorCode.EMAIL_TAKEN);
      if (driverError.constraint === 'users_username_key')
        return new AppError(ErrorCode.USERNAME_TAKEN);
    }
  }
  return error;
}
