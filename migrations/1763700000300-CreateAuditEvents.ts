import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit trail. `user_id` and `actor_id` have no foreign key on purpose: the events of a
 * deleted user (`user.deleted` among them) must outlive the account. The indexes serve
 * `GET /api/audit-events`: newest first, optionally for one user or one type.
 */
export class CreateAuditEvents1763700000300 implements MigrationInterface {
  name = 'CreateAuditEvents1763700000300';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE audit_events (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        type text NOT NULL,
        -- The account the event is about.
        user_id uuid,
        -- Who did it: the user themselves, an admin, or NULL (anonymous, the system).
        actor_id uuid,
        ip text,
        user_agent text,
        -- Type-specific details and the request id; never a secret.
        metadata jsonb NOT NULL DEFAULT '{}',
        -- clock_timestamp(): events written in one transaction still come out in order.
        created_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await db.query(`CREATE INDEX audit_events_created_at_idx ON audit_events (created_at, id)`);
    await db.query(
      `CREATE INDEX audit_events_user_id_idx ON audit_events (user_id, created_at, id)`,
    );
    await db.query(`CREATE INDEX audit_events_type_idx ON audit_events (type, created_at, id)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE audit_events`);
  }
}
