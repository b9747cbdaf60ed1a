import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * Recovery requests per normalized email, known or unknown alike, keyed by SHA-256 of
 * "email:<normalized email>": codes sent in the current hour (RECOVERY_CODES_PER_HOUR) and
 * wrong codes tried against the latest one (OTP_MAX_ATTEMPTS).
 */
@Entity({ name: 'recovery_requests' })
export class RecoveryRequest {
  @PrimaryColumn({ name: 'key_hash', type: 'bytea' })
  keyHash: Buffer;

  /** The hour in which codes are counted against the cap starts here. */
  @Index('recovery_requests_window_started_at_idx')
  @Column({ name: 'window_started_at', type: 'timestamptz' })
  windowStartedAt: Date;

  @Column({ name: 'codes_sent', type: 'integer' })
  codesSent: number;

  /** Wrong codes tried since the latest code was sent. */
  @Column({ name: 'code_attempts', type: 'integer', default: 0 })
  codeAttempts: number;

  /** The latest code stops counting attempts then (RECOVERY_TOKEN_TTL). */
  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;
}
