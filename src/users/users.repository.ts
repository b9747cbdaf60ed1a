import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, QueryFailedError, type EntityManager } from 'typeorm';
import { AppError } from '../common/errors/app-error.js';
import { ErrorCode } from '../common/errors/error-code.js';
import type { User } from './entities/user.entity.js';
import type { Role } from './entities/role.js';
import { USER_COLUMNS, toUser, type UserRow } from './user-row.js';

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

/** SQL over `users`. Unique violations become `EMAIL_TAKEN` / `USERNAME_TAKEN`. */
@Injectable()
export class UsersRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private managerOr(manager?: EntityManager): EntityManager {
    return manager ?? this.dataSource.manager;
  }

  async findById(id: string, manager?: EntityManager): Promise<User | undefined> {
    const rows: UserRow[] = await this.managerOr(manager).query(
      `SELECT ${USER_COLUMNS('u')} FROM users u WHERE u.id = $1`,
      [id],
    );
    return rows[0] ? toUser(rows[0]) : undefined;
  }

  /** Looks a user up by normalized email or username (the unique indexes serve both). */
  async findByLogin(by: 'email' | 'username', value: string): Promise<User | undefined> {
    const rows: UserRow[] = await this.dataSource.query(
      `SELECT ${USER_COLUMNS('u')} FROM users u WHERE lower(u.${by}) = $1`,
      [value],
    );
    return rows[0] ? toUser(rows[0]) : undefined;
  }

  async insert(user: NewUser, manager?: EntityManager): Promise<User> {
    try {
      const rows: UserRow[] = await this.managerOr(manager).query(
        `INSERT INTO users AS u (email, username, password_hash, first_name, last_name, role, active, email_verified)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         RETURNING ${USER_COLUMNS('u')}`,
        [
          user.email,
          user.username,
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

  async recordLogin(id: string, newPasswordHash?: string): Promise<User> {
    // For UPDATE, TypeORM's raw result is [rows, affectedCount].
    const [rows]: [UserRow[], number] = await this.dataSource.query(
      `UPDATE users AS u SET last_login_at = now(), password_hash = COALESCE($2, u.password_hash)
        WHERE u.id = $1 RETURNING ${USER_COLUMNS('u')}`,
      [id, newPasswordHash ?? null],
    );
    return toUser(rows[0]);
  }

  async setPasswordHash(id: string, passwordHash: string, manager?: EntityManager): Promise<void> {
    await this.managerOr(manager).query(
      `UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1`,
      [id, passwordHash],
    );
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
