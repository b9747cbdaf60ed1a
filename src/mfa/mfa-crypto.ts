import { Injectable } from '@nestjs/common';
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  randomBytes,
} from 'node:crypto';
import { SigningKeys } from '../keys/signing-keys.js';

/**
 * The keys of the second factors, derived (HKDF-SHA256) from the access-token signing
 * key, the one secret every instance already shares: one seals TOTP secrets (AES-256-GCM),
 * one keys the recovery-code hashes (HMAC-SHA256). A copy of the database alone reveals
 * neither. Rotating the signing key therefore needs the factors re-enrolled: see
 * docs/security.md, "Second factors".
 */
@Injectable()
export class MfaCrypto {
  private readonly sealKey: Buffer;
  private readonly codeKey: Buffer;

  constructor(keys: SigningKeys) {
    const der = keys.privateKey.export({ format: 'der', type: 'pkcs8' });
    const derive = (info: string) =>
      Buffer.from(hkdfSync('sha256', der, Buffer.alloc(0), info, 32));
    this.sealKey = derive('authkit/totp-secret/v1');
    this.codeKey = derive('authkit/recovery-code/v1');
  }

  /** IV (12) | tag (16) | ciphertext, bound to the user id (additional data). */
  sealSecret(userId: string, secret: Buffer): Buffer {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.sealKey, iv);
    cipher.setAAD(Buffer.from(userId, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(secret), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]);
  }

  /** The secret, or undefined when it was sealed under another key (or for another user). */
  openSecret(userId: string, sealed: Buffer): Buffer | undefined {
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.sealKey, sealed.subarray(0, 12));
      decipher.setAAD(Buffer.from(userId, 'utf8'));
      decipher.setAuthTag(sealed.subarray(12, 28));
      return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]);
    } catch {
      return undefined;
    }
  }

  /** The stored form of a recovery code (canonical form) of a user. */
  recoveryCodeHash(userId: string, code: string): Buffer {
    return createHmac('sha256', this.codeKey).update(`${userId}:${code}`, 'utf8').digest();
  }
}

/** SHA-256 of a password hash: binds an MFA challenge to the password step. */
export function passwordFingerprint(passwordHash: string): Buffer {
  return createHash('sha256').update(passwordHash, 'utf8').digest();
}
