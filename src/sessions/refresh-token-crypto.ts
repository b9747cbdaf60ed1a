import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';

/** A new opaque refresh token: 256 random bits, base64url. */
export function newRefreshToken(): string {
  return randomBytes(32).toString('base64url');
}

/** What the database stores instead of the token. SHA-256 suffices: the token has 256 bits of entropy. */
export function hashRefreshToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** HKDF's salt when none is given: a block of zeros (RFC 5869 §2.2). */
const NO_SALT = Buffer.alloc(32);
/** `info`, then the counter of the first (and only) output block (RFC 5869 §2.3). */
const INFO_FIRST_BLOCK = Buffer.from('refresh-token-successor\x01', 'latin1');

/**
 * HKDF-SHA256 with no salt and 32 bytes of output, the same key as
 * `hkdfSync('sha256', predecessor, '', 'refresh-token-successor', 32)`, computed as its two
 * HMACs (extract, then expand one block): OpenSSL's KDF interface behind `hkdfSync` costs
 * several times more per call, and a refresh derives a key every time.
 */
function keyFrom(predecessor: string): Buffer {
  const pseudoRandomKey = createHmac('sha256', NO_SALT).update(predecessor).digest();
  return createHmac('sha256', pseudoRandomKey).update(INFO_FIRST_BLOCK).digest();
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
