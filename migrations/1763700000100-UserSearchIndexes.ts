import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Indexes that keep `GET /api/users` fast at a million rows:
 *
 * - one trigram GIN index over email, username and both names joined by spaces, so a
 *   substring search (`ILIKE '%term%'`) is one index scan and "ada lovelace" finds a full
 *   name. The expression must stay identical to `SEARCH_TEXT` in users.repository.ts, or
 *   the planner cannot use the index;
 * - one btree per sort key, ending in `id` so pages are stable among equal values; NULLs
 *   first, which a backward scan turns into "NULLs last" for `order=desc` (a null
 *   `lastLoginAt` counts as the oldest). Email needs none: `users_email_key` on
 *   `lower(email)` is unique and emails are stored lower-cased;
 * - btrees for the rare filter values (`role=ADMIN`, `active=false`), and a partial index
 *   over active admins, which the LAST_ADMIN check locks on every role or status change.
 */
export class UserSearchIndexes1763700000100 implements MigrationInterface {
  name = 'UserSearchIndexes1763700000100';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE EXTENSION IF NOT EXISTS pg_trgm`);
    await db.query(`
      CREATE INDEX users_search_trgm_idx ON users USING gin (
        (email || ' ' || coalesce(username, '') || ' ' || coalesce(first_name, '') || ' ' || coalesce(last_name, ''))
        gin_trgm_ops
      )`);
    await db.query(`CREATE INDEX users_created_at_idx ON users (created_at, id)`);
    await db.query(
      `CREATE INDEX users_username_sort_idx ON users (lower(username) NULLS FIRST, id)`,
    );
    await db.query(`CREATE INDEX users_last_login_at_idx ON users (last_login_at NULLS FIRST, id)`);
    await db.query(`CREATE INDEX users_role_active_idx ON users (role, active)`);
    await db.query(`CREATE INDEX users_active_idx ON users (active)`);
    await db.query(
      `CREATE INDEX users_active_admins_idx ON users (id) WHERE role = 'ADMIN' AND active`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    for (const index of [
      'users_active_admins_idx',
      'users_active_idx',
      'users_role_active_idx',
      'users_last_login_at_idx',
      'users_username_sort_idx',
      'users_created_at_idx',
      'users_search_trgm_idx',
    ]) {
      await db.query(`DROP INDEX IF EXISTS ${index}`);
    }
    // pg_trgm stays: other objects may depend on it.
  }
}
