import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Wrong codes are counted per normalized email in `recovery_requests` (1763700000450), for
 * known and unknown addresses alike; `password_resets.code_attempts` has been written but
 * never read since. Found by the entity for `password_resets` (issue 15), which describes
 * the table as it is used.
 */
export class DropPasswordResetCodeAttempts1763700000700 implements MigrationInterface {
  name = 'DropPasswordResetCodeAttempts1763700000700';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE password_resets DROP COLUMN code_attempts`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(
      `ALTER TABLE password_resets ADD COLUMN code_attempts integer NOT NULL DEFAULT 0`,
    );
  }
}
