import {
  Check,
  Column,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
} from 'typeorm';
import { User } from '../../users/entities/user.entity.js';

/** A registered WebAuthn credential (a passkey or a security key) of a user. */
@Entity({ name: 'passkeys' })
@Check('passkeys_device_type_check', `device_type IN ('singleDevice', 'multiDevice')`)
export class Passkey {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Index('passkeys_user_id_idx')
  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'passkeys_user_id_fkey' })
  user?: User;

  /** The credential id as the authenticator gave it (base64url). */
  @Index('passkeys_credential_id_key', { unique: true })
  @Column({ name: 'credential_id', type: 'text' })
  credentialId: string;

  /** The COSE public key. */
  @Column({ name: 'public_key', type: 'bytea' })
  publicKey: Buffer;

  /** The signature counter: an assertion must exceed it, unless both are 0. */
  @Column({ type: 'bigint', default: 0 })
  counter: string;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  transports: string[];

  @Column({ name: 'device_type', type: 'text' })
  deviceType: 'singleDevice' | 'multiDevice';

  @Column({ name: 'backed_up', type: 'boolean', default: false })
  backedUp: boolean;

  @Column({ type: 'varchar', length: 64 })
  name: string;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt: Date | null;
}
