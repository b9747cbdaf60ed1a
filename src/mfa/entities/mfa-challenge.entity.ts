import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { User } from '../../users/entities/user.entity.js';

/** The pending second step of a login: what the `mfa_token` stands for, by its hash. */
@Entity({ name: 'mfa_challenges' })
@Check('mfa_challenges_identifier_kind_check', `identifier_kind IN ('email', 'username')`)
export class MfaChallenge {
  @PrimaryColumn({ name: 'token_hash', type: 'bytea' })
  tokenHash: Buffer;

  @Index('mfa_challenges_user_id_idx')
  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'mfa_challenges_user_id_fkey' })
  user?: User;

  /** SHA-256 of the verified password hash: a password change since kills the challenge. */
  @Column({ name: 'password_fingerprint', type: 'bytea' })
  passwordFingerprint: Buffer;

  /** How the password step named the account: its login backoff key. */
  @Column({ name: 'identifier_kind', type: 'text' })
  identifierKind: 'email' | 'username';

  @Column({ type: 'integer', default: 0 })
  attempts: number;

  @Index('mfa_challenges_expires_at_idx')
  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;
}
