import { createHash, randomBytes, randomInt } from 'node:crypto';

/** A link or reset token: 256 bits from the CSPRNG, base64url (43 characters). */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * What the database keeps instead of a token. A plain SHA-256 suffices: with 256 bits of
 * entropy the token cannot be guessed from its hash.
 */
export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Six decimal digits, uniformly distributed (randomInt rejects biased samples). */
export function newCode(): string {
  return randomInt(0, 1_000_000).toString().padStart(6, '0');
}
