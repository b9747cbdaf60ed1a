import type { User } from './entities/user.entity.js';
import { NO_PASSWORD } from './legacy-hashes.js';
import { IMPORT_FIELDS, TIMESTAMP_TEXT, type ImportField, type ImportRow } from './user-import.js';

/** The users-table values of imported rows, for UsersRepository (docs/migration.md). */

export function insertValues(id: string, row: ImportRow) {
  return {
    id,
    externalId: row.externalId ?? null,
    email: row.email,
    username: row.username ?? null,
    passwordHash: row.passwordHash ?? NO_PASSWORD,
    firstName: row.firstName ?? null,
    lastName: row.lastName ?? null,
    role: row.role ?? 'USER',
    active: row.active ?? true,
    emailVerified: row.emailVerified ?? false,
    // Left out, the columns' DEFAULT now() applies.
    ...(row.createdAt ? { createdAt: timestamp(row.createdAt) } : {}),
    ...((row.updatedAt ?? row.createdAt)
      ? { updatedAt: timestamp(row.updatedAt ?? row.createdAt!) }
      : {}),
    lastLoginAt: row.lastLoginAt ? timestamp(row.lastLoginAt) : null,
  };
}

/**
 * A checked timestamp (`TIMESTAMP_TEXT`: digits, `-`, `:`, `.`, `T`, `Z` only) as a
 * literal, so that PostgreSQL reads its microseconds (TypeORM would make it a Date first).
 */
export function timestamp(text: string): () => string {
  if (!TIMESTAMP_TEXT.test(text)) throw new Error(`not a checked timestamp: ${text}`);
  return () => `'${text}'::timestamptz`;
}

/** The fields the row carries (an update leaves the others as they are). */
export function updateValues(row: ImportRow): Partial<User> {
  const changes: Partial<User> = { email: row.email };
  // Every import field but the key (`id`), `email` (set above) and `updatedAt` (the caller's).
  const keys = IMPORT_FIELDS.filter(
    (key): key is Exclude<ImportField, 'id' | 'email' | 'updatedAt'> =>
      key !== 'id' && key !== 'email' && key !== 'updatedAt',
  );
  for (const key of keys) {
    const value = row[key];
    if (value === undefined) continue;
    (changes as Record<string, unknown>)[key] =
      (key === 'createdAt' || key === 'lastLoginAt') && typeof value === 'string'
        ? timestamp(value)
        : value;
  }
  return changes;
}

/** One exported user: the import's fields, timestamps with their microseconds. */
export interface ExportedUser {
  id: string;
  externalId: string | null;
  email: string;
  username: string | null;
  firstName: string | null;
  lastName: string | null;
  role: string;
  active: boolean;
  emailVerified: boolean;
  createdAt: string;
  updatedAt: string;
  lastLoginAt: string | null;
  passwordHash?: string;
}

/** UTC ISO 8601 with microseconds, as `TIMESTAMP_TEXT` reads it back. */
export const ISO_MICROS = (column: string) =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
