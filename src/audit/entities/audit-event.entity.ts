import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { jsonbColumn } from '../../database/jsonb.js';
import type { AuditEventType } from '../audit-event-type.js';

/**
 * One line of the audit trail. `userId` and `actorId` have no foreign key on purpose: the
 * events of a deleted user (`user.deleted` among them) must outlive the account.
 */
@Entity({ name: 'audit_events' })
@Index('audit_events_created_at_idx', ['createdAt', 'id'])
@Index('audit_events_user_id_idx', ['userId', 'createdAt', 'id'])
@Index('audit_events_type_idx', ['type', 'createdAt', 'id'])
export class AuditEvent {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  type: AuditEventType;

  /** The account the event is about. */
  @Column({ name: 'user_id', type: 'uuid', nullable: true })
  userId: string | null;

  /** Who did it: the user themselves, an admin, or null (anonymous, the system). */
  @Column({ name: 'actor_id', type: 'uuid', nullable: true })
  actorId: string | null;

  @Column({ type: 'text', nullable: true })
  ip: string | null;

  @Column({ name: 'user_agent', type: 'text', nullable: true })
  userAgent: string | null;

  /** Type-specific details and the request id; never a secret. */
  @Column({ type: 'jsonb', default: () => "'{}'", transformer: jsonbColumn })
  metadata: Record<string, unknown>;

  /** clock_timestamp(): events written in one transaction still come out in order. */
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'clock_timestamp()' })
  createdAt: Date;
}
