import { Check, Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import type { Role } from '../../common/auth/role.js';

/** A person with an account. Emails and usernames are stored normalized (trimmed, lower case). */
@Entity({ name: 'users' })
@Check('users_role_check', `role IN ('USER', 'ADMIN')`)
// Expression, partial and trigram indexes written by hand in the migrations (CreateUsers,
// UserSearchIndexes). TypeORM cannot describe them, so `migration:generate` is told to leave
// them alone instead of proposing to drop them.
@Index('users_email_key', { synchronize: false })
@Index('users_username_key', { synchronize: false })
@Index('users_search_trgm_idx', { synchronize: false })
@Index('users_created_at_idx', { synchronize: false })
@Index('users_username_sort_idx', { synchronize: false })
@Index('users_last_login_at_idx', { synchronize: false })
@Index('users_role_active_idx', { synchronize: false })
@Index('users_active_idx', { synchronize: false })
@Index('users_active_admins_idx', { synchronize: false })
@Index('users_external_id_key', { synchronize: false })
export class User {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  email: string;

  @Column({ type: 'text', nullable: true })
  username: string | null;

  @Column({ name: 'password_hash', type: 'text' })
  passwordHash: string;

  @Column({ name: 'first_name', type: 'text', nullable: true })
  firstName: string | null;

  @Column({ name: 'last_name', type: 'text', nullable: true })
  lastName: string | null;

  @Column({ type: 'text', default: 'USER' })
  role: Role;

  @Column({ type: 'boolean', default: true })
  active: boolean;

  @Column({ name: 'email_verified', type: 'boolean', default: false })
  emailVerified: boolean;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt: Date;

  @Column({ name: 'last_login_at', type: 'timestamptz', nullable: true })
  lastLoginAt: Date | null;

  /** The id the user had in the backend they were imported from, unless it was a UUID. */
  @Column({ name: 'external_id', type: 'text', nullable: true })
  externalId: string | null;

  /** Whether the user has a confirmed second factor (kept by MfaModule). */
  @Column({ name: 'mfa_enabled', type: 'boolean', default: false })
  mfaEnabled: boolean;
}
