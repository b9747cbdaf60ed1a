// The sealing key of a refresh token's successor is HKDF-SHA256, computed by hand as its two
// HMACs for speed: checked here against node:crypto's own hkdfSync.
import { createDecipheriv, hkdfSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  newRefreshToken,
  openSuccessor,
  sealSuccessor,
} from '../src/sessions/refresh-token-crypto.js';

function openWithHkdfSync(sealed: Buffer, predecessor: string): string {
  const key = Buffer.from(hkdfSync('sha256', predecessor, '', 'refresh-token-successor', 32));
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
  decipher.setAuthTag(sealed.subarray(12, 28));
  return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]).toString('utf8');
}

describe('successor sealing', () => {
  it('uses the key hkdfSync derives, for many predecessors', () => {
    for (let i = 0; i < 50; i++) {
      const predecessor = newRefreshToken();
      const successor = newRefreshToken();
      const sealed = sealSuccessor(successor, predecessor);
      expect(openWithHkdfSync(sealed, predecessor)).toBe(successor);
      expect(openSuccessor(sealed, predecessor)).toBe(successor);
    }
  });

  it('opens nothing under another predecessor or after any change', () => {
    const predecessor = newRefreshToken();
    const sealed = sealSuccessor(newRefreshToken(), predecessor);
    expect(openSuccessor(sealed, newRefreshToken())).toBeUndefined();
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1] ^= 1;
    expect(openSuccessor(tampered, predecessor)).toBeUndefined();
  });
});
