import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The id a user had in the backend they were imported from (issue 17): a MongoDB ObjectId,
 * a MySQL integer... (a UUID is kept as `id` itself). Unique, so that re-running an import
 * finds the same users, and searchable by the admin list (exact match).
 */
export class UserExternalId1763700000500 implements MigrationInterface {
  name = 'UserExternalId1763700000500';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE users ADD COLUMN external_id text`);
    await db.query(`CREATE UNIQUE INDEX users_external_id_key ON users (external_id)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX users_external_id_key`);
    await db.query(`ALTER TABLE users DROP COLUMN external_id`);
  }
}
