import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

/** A new opaque refresh token: 256 random bits, base64url. */
export function newRefreshToken(): string {
  return randomBytes(32).toString('base64url');
}

/** What the database stores instead of the token. SHA-256 suffices: the token has 256 bits of entropy. */
export function hashRefreshToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

function keyFrom(predecessor: string): Buffer {
  return Buffer.from(
    hkdfSync('sha256', predecessor, Buffer.alloc(0), 'refresh-token-successor', 32),
  );
}

/** Encrypts `successor` so that only a holder of `predecessor` can read it back (AES-256-GCM). */
export function sealSuccessor(successor: string, predecessor: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyFrom(predecessor), iv);
  const ciphertext = Buffer.concat([cipher.update(successor, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]);
}

/** The successor sealed by `sealSuccessor`, or `undefined` when it cannot be opened. */
export function openSuccessor(sealed: Buffer, predecessor: string): string | undefined {
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyFrom(predecessor), sealed.subarray(0, 12));
    decipher.setAuthTag(sealed.subarray(12, 28));
    return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}
