import type { Role } from './entities/role.js';

export const USER_SORT_KEYS = ['createdAt', 'email', 'username', 'lastLoginAt'] as const;
export type UserSortKey = (typeof USER_SORT_KEYS)[number];
export const SORT_ORDERS = ['asc', 'desc'] as const;
export type SortOrder = (typeof SORT_ORDERS)[number];

export interface UserFilter {
  search?: string;
  role?: Role;
  active?: boolean;
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
const ORDER_BY: Record<UserSortKey, (order: SortOrder) => string> = {
  createdAt: (o) => `created_at ${o}, id ${o}`,
  email: (o) => `lower(email) ${o}`,
  username: (o) => `lower(username) ${o} ${nullsFor(o)}, id ${o}`,
  lastLoginAt: (o) => `last_login_at ${o} ${nullsFor(o)}, id ${o}`,
};

function nullsFor(order: SortOrder): string {
  return order === 'asc' ? 'NULLS FIRST' : 'NULLS LAST';
}

export interface SqlFragment {
  sql: string;
  params: unknown[];
}

/** `WHERE ...` for a filter (`WHERE true` when empty), with positional parameters from $1. */
export function whereClause(filter: UserFilter): SqlFragment {
  const conditions: string[] = [];
  const params: unknown[] = [];
  if (filter.search) {
    const { operator, pattern } = searchPattern(filter.search);
    params.push(pattern);
    conditions.push(`${SEARCH_TEXT} ${operator} $${params.length}`);
  }
  if (filter.role !== undefined) {
    params.push(filter.role);
    conditions.push(`role = $${params.length}`);
  }
  if (filter.active !== undefined) {
    params.push(filter.active);
    conditions.push(`active = $${params.length}`);
  }
  return { sql: `WHERE ${conditions.join(' AND ') || 'true'}`, params };
}

export function orderByClause(sort: UserSortKey, order: SortOrder): string {
  return `ORDER BY ${ORDER_BY[sort](order)}`;
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
