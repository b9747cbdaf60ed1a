import { createHmac, hkdfSync, type KeyObject } from 'node:crypto';

/**
 * Failed logins and rate-limit refusals name what was typed as an identifier. When it is
 * not an account's email or username it may be anything (a password typed into the
 * username field), so the audit trail keeps only a keyed hash of it: HMAC-SHA256 under a
 * key derived (HKDF) from the signing key, never stored. The same text gives the same
 * value on every instance (they share the signing key), so repeated attempts with one
 * unknown identifier can still be told apart from a spray of many, and a leaked audit
 * table cannot be reversed by hashing guesses without the key.
 */
export function auditIdentifierKey(signingKey: KeyObject): Buffer {
  const der = signingKey.export({ format: 'der', type: 'pkcs8' });
  return Buffer.from(hkdfSync('sha256', der, Buffer.alloc(0), 'authkit/audit-identifier/v1', 32));
}

/** `hmac-sha256:<first 32 hex digits>` of the identifier key (`email:ada@...`). */
export function identifierHmac(key: Buffer, identifierKey: string): string {
  const digest = createHmac('sha256', key).update(identifierKey, 'utf8').digest('hex');
  return `hmac-sha256:${digest.slice(0, 32)}`;
}
