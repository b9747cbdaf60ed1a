import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A change of a user's email discards the password reset (link, code and reset token) and
 * the verification link that were mailed to the old address, in the statement that changes
 * it, hence in its transaction. A trigger rather than code in each caller: any UPDATE of
 * `users.email` (an admin's PATCH today, a self-service change or a CLI tomorrow) is
 * covered by itself; otherwise the old mailbox could reset the password, or mark the new,
 * unproven address as verified.
 */
export class EmailChangeDiscardsMailedTokens1763700000400 implements MigrationInterface {
  name = 'EmailChangeDiscardsMailedTokens1763700000400';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE FUNCTION users_discard_mailed_tokens() RETURNS trigger
      LANGUAGE plpgsql AS $$
      BEGIN
        DELETE FROM password_resets WHERE user_id = NEW.id;
        DELETE FROM email_verifications WHERE user_id = NEW.id;
        RETURN NULL;
      END
      $$`);
    await db.query(`
      CREATE TRIGGER users_email_changed
        AFTER UPDATE OF email ON users
        FOR EACH ROW WHEN (lower(OLD.email) IS DISTINCT FROM lower(NEW.email))
        EXECUTE FUNCTION users_discard_mailed_tokens()`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TRIGGER IF EXISTS users_email_changed ON users`);
    await db.query(`DROP FUNCTION IF EXISTS users_discard_mailed_tokens()`);
  }
}
