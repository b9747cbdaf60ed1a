import type { Role } from '../common/auth/role.js';

export const USER_SORT_KEYS = ['createdAt', 'email', 'username', 'lastLoginAt'] as const;
export type UserSortKey = (typeof USER_SORT_KEYS)[number];
export const SORT_ORDERS = ['asc', 'desc'] as const;
export type SortOrder = (typeof SORT_ORDERS)[number];

export interface UserFilter {
  search?: string;
  role?: Role;
  active?: boolean;
  mfaEnabled?: boolean;
}

export interface UserListQuery extends UserFilter {
  sort: UserSortKey;
  order: SortOrder;
  limit: number;
  offset: number;
}

/**
 * The text a search matches: email, username and both names joined by spaces. It must be
 * the expression of `users_search_trgm_idx` (migration 1763700000100) character for
 * character, or PostgreSQL cannot use that index.
 */
const SEARCH_TEXT = `(email || ' ' || coalesce(username, '') || ' ' || coalesce(first_name, '') || ' ' || coalesce(last_name, ''))`;

/**
 * ORDER BY per sort key, each matching an index scanned forwards (asc) or backwards (desc).
 * Nullable keys put NULLs first ascending and last descending: one index serves both, and
 * "never logged in" sorts as the oldest login. `id` breaks ties so pages never overlap.
 */
const ORDER_BY: Record<UserSortKey, { expression: string; nullable: boolean; tieBreak: boolean }> =
  {
    createdAt: { expression: 'created_at', nullable: false, tieBreak: true },
    email: { expression: 'lower(email)', nullable: false, tieBreak: false },
    username: { expression: 'lower(username)', nullable: true, tieBreak: true },
    lastLoginAt: { expression: 'last_login_at', nullable: true, tieBreak: true },
  };

/** One term of an ORDER BY, as TypeORM's `addOrderBy(expression, order, nulls)` takes it. */
export interface OrderTerm {
  expression: string;
  order: 'ASC' | 'DESC';
  nulls?: 'NULLS FIRST' | 'NULLS LAST';
}

/** A condition with TypeORM's named parameters (`:name`). */
export interface SqlFragment {
  sql: string;
  params: Record<string, unknown>;
}

/** The conditions of a filter (`true` when empty), with the named parameters they use. */
export function whereClause(filter: UserFilter): SqlFragment {
  const conditions: string[] = [];
  const params: Record<string, unknown> = {};
  if (filter.search) {
    const { operator, pattern } = searchPattern(filter.search);
    params.search = pattern;
    params.searchExact = filter.search;
    // An imported user is also found by the id they had before (exact match, its index).
    conditions.push(`(${SEARCH_TEXT} ${operator} :search OR external_id = :searchExact)`);
  }
  if (filter.role !== undefined) {
    params.role = filter.role;
    conditions.push(`role = :role`);
  }
  if (filter.active !== undefined) {
    params.active = filter.active;
    conditions.push(`active = :active`);
  }
  if (filter.mfaEnabled !== undefined) {
    params.mfaEnabled = filter.mfaEnabled;
    conditions.push(`mfa_enabled = :mfaEnabled`);
  }
  return { sql: conditions.join(' AND ') || 'true', params };
}

export function orderByClause(sort: UserSortKey, order: SortOrder): OrderTerm[] {
  const { expression, nullable, tieBreak } = ORDER_BY[sort];
  const direction = order === 'asc' ? 'ASC' : 'DESC';
  const nulls = nullable ? (order === 'asc' ? 'NULLS FIRST' : 'NULLS LAST') : undefined;
  return [
    { expression, order: direction, ...(nulls ? { nulls } : {}) },
    ...(tieBreak ? [{ expression: 'id', order: direction } as const] : []),
  ];
}

/** Shorter terms hold no trigram, so a substring match could only scan every row. */
export const SUBSTRING_SEARCH_MIN_LENGTH = 3;

/**
 * Terms of 3+ characters match anywhere (`ILIKE '%term%'`). Shorter ones match the start
 * of a word, after a space, `.`, `_`, `@` or `-` (so "li" finds "Li" and "lisa@..." but not
 * "alice"): pg_trgm turns that anchored regex into word-start trigrams it can look up.
 */
function searchPattern(term: string): { operator: string; pattern: string } {
  if ([...term].length >= SUBSTRING_SEARCH_MIN_LENGTH) {
    return { operator: 'ILIKE', pattern: `%${escapeLike(term)}%` };
  }
  return { operator: '~*', pattern: `(^|[ ._@-])${escapeRegex(term)}` };
}

function escapeRegex(term: string): string {
  return term.replace(/[\\^$.|?*+()[\]{}-]/g, (c) => `\\${c}`);
}

/** The search term taken literally: `%`, `_` and `\` lose their LIKE meaning. */
export function escapeLike(term: string): string {
  return term.replace(/[\\%_]/g, (c) => `\\${c}`);
}
