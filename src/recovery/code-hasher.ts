import { Injectable } from '@nestjs/common';
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { SigningKeys } from '../keys/signing-keys.js';

/**
 * Hashes one-time codes with HMAC-SHA256 under a server secret. A code has only 10^6
 * values, so a plain hash in a leaked table would fall to trying them all; without the
 * key, the table reveals nothing.
 *
 * The key is derived (HKDF) from the access-token signing key, the one secret every
 * instance already shares, so there is nothing more to configure. Rotating that key
 * invalidates the codes in flight, which live 15 minutes anyway.
 */
@Injectable()
export class CodeHasher {
  private readonly key: Buffer;

  constructor(keys: SigningKeys) {
    const der = keys.privateKey.export({ format: 'der', type: 'pkcs8' });
    this.key = Buffer.from(hkdfSync('sha256', der, Buffer.alloc(0), 'authkit/otp-code/v1', 32));
  }

  /** Binds the code to its request (`salt`: the request's link-token hash). */
  hash(code: string, salt: Buffer): Buffer {
    return createHmac('sha256', this.key).update(salt).update(code, 'utf8').digest();
  }

  matches(code: string, salt: Buffer, expected: Buffer): boolean {
    const actual = this.hash(code, salt);
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }
}
