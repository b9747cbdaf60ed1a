import type { User } from './entities/user.entity.js';
import type { Role } from './entities/role.js';

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
  };
}
