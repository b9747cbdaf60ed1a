import type { User } from './entities/user.entity.js';
import type { Role } from '../common/auth/role.js';

/**
 * Fragments of the hot-path statements over `users` (the guard's principal lookup, the
 * login record, refresh rotation), which other repositories embed in one statement with
 * their own changes; `users` itself is written only through UsersRepository and these.
 */

/** The columns of `users` in the order `toUser` expects, for hand-written SQL on hot paths. */
export const USER_COLUMNS = (alias: string) =>
  [
    'id',
    'email',
    'username',
    'password_hash',
    'first_name',
    'last_name',
    'role',
    'active',
    'email_verified',
    'created_at',
    'updated_at',
    'last_login_at',
    'external_id',
    'mfa_enabled',
  ]
    .map((column) => `${alias}.${column}`)
    .join(', ');

export interface UserRow {
  id: string;
  email: string;
  username: string | null;
  password_hash: string;
  first_name: string | null;
  last_name: string | null;
  role: Role;
  active: boolean;
  email_verified: boolean;
  created_at: Date;
  updated_at: Date;
  last_login_at: Date | null;
  external_id: string | null;
  mfa_enabled: boolean;
}

export function toUser(row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    username: row.username,
    passwordHash: row.password_hash,
    firstName: row.first_name,
    lastName: row.last_name,
    role: row.role,
    active: row.active,
    emailVerified: row.email_verified,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastLoginAt: row.last_login_at,
    externalId: row.external_id,
    mfaEnabled: row.mfa_enabled,
  };
}

/**
 * The part of a successful login that changes the user: `last_login_at`, and the password
 * hash when a rehash is given (`rehashParam` is NULL otherwise). For a CTE joined to
 * `source`, which has a `user_id` column; returns the user.
 */
export function loginUpdateSql(source: string, rehashParam: string): string {
  return `UPDATE users AS u SET last_login_at = now(), password_hash = COALESCE(${rehashParam}, u.password_hash)
      FROM ${source} src
     WHERE u.id = src.user_id
    RETURNING ${USER_COLUMNS('u')}`;
}
