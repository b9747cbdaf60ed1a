import { Column, Entity, Index, JoinColumn, OneToOne, PrimaryColumn } from 'typeorm';
import { User } from '../../users/entities/user.entity.js';

/**
 * The live password reset of an account (one row per user: a new request replaces the
 * previous one). Only hashes are stored.
 */
@Entity({ name: 'password_resets' })
export class PasswordReset {
  @PrimaryColumn({ name: 'user_id', type: 'uuid' })
  userId: string;

  @OneToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'password_resets_user_id_fkey' })
  user?: User;

  /** SHA-256 of the emailed link token (256 random bits). */
  @Index('password_resets_link_token_key', { unique: true })
  @Column({ name: 'link_token_hash', type: 'bytea' })
  linkTokenHash: Buffer;

  /** HMAC-SHA256 of the 6-digit code under a server key; null once the code is used. */
  @Column({ name: 'code_hmac', type: 'bytea', nullable: true })
  codeHmac: Buffer | null;

  /** SHA-256 of the reset_token that a correct code is traded for. */
  @Index('password_resets_reset_token_key', { unique: true })
  @Column({ name: 'reset_token_hash', type: 'bytea', nullable: true })
  resetTokenHash: Buffer | null;

  @Column({ name: 'reset_token_expires_at', type: 'timestamptz', nullable: true })
  resetTokenExpiresAt: Date | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;
}
