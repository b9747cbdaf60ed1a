import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * Consecutive failed logins per identifier, keyed by SHA-256 of "email:<normalized>" or
 * "username:<normalized>" (unknown accounts are counted like real ones).
 */
@Entity({ name: 'login_backoff' })
export class LoginBackoff {
  @PrimaryColumn({ name: 'key_hash', type: 'bytea' })
  keyHash: Buffer;

  /** Attempts since the last success, the one in flight included. */
  @Column({ type: 'integer' })
  failures: number;

  @Index('login_backoff_last_attempt_at_idx')
  @Column({ name: 'last_attempt_at', type: 'timestamptz' })
  lastAttemptAt: Date;

  /** Attempts are refused until then. */
  @Column({ name: 'locked_until', type: 'timestamptz', nullable: true })
  lockedUntil: Date | null;
}
