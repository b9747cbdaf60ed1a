import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { User } from '../../users/entities/user.entity.js';

/** A WebAuthn challenge handed out and not used yet, by its hash. */
@Entity({ name: 'webauthn_challenges' })
@Check('webauthn_challenges_purpose_check', `purpose IN ('registration', 'authentication')`)
export class WebauthnChallenge {
  @PrimaryColumn({ name: 'challenge_hash', type: 'bytea' })
  challengeHash: Buffer;

  /** Whose registration or second step it is; null for a username-less sign-in. */
  @Index('webauthn_challenges_user_id_idx')
  @Column({ name: 'user_id', type: 'uuid', nullable: true })
  userId: string | null;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'webauthn_challenges_user_id_fkey' })
  user?: User;

  @Column({ type: 'text' })
  purpose: 'registration' | 'authentication';

  @Index('webauthn_challenges_expires_at_idx')
  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;
}
