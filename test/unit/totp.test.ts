// Unit tests: TOTP codes (RFC 6238 appendix B vectors, 6-digit truncation), the drift
// window and the matched step, and the recovery-code format (src/mfa/totp.ts,
// src/mfa/recovery-codes.ts).
import { describe, expect, it } from 'vitest';
import { canonicalRecoveryCode, newRecoveryCodes } from '../../src/mfa/recovery-codes.js';
import {
  base32Secret,
  matchTotp,
  newTotpSecret,
  otpauthUrl,
  totpCode,
} from '../../src/mfa/totp.js';

// RFC 6238 appendix B, SHA1 seed; the 8-digit values there end in these 6 digits.
const RFC_SECRET = Buffer.from('12345678901234567890', 'ascii');
const RFC_VECTORS: [number, string][] = [
  [59, '287082'],
  [1111111109, '081804'],
  [1111111111, '050471'],
  [1234567890, '005924'],
  [2000000000, '279037'],
];

describe('TOTP', () => {
  it.each(RFC_VECTORS)('at T=%d the code is %s (RFC 6238)', (seconds, code) => {
    expect(totpCode(RFC_SECRET, seconds * 1000)).toBe(code);
    expect(matchTotp(RFC_SECRET, code, seconds * 1000)).toBe(Math.floor(seconds / 30));
  });

  it('accepts one step of drift either way and answers the step the code belongs to', () => {
    const now = 1_700_000_015_000;
    const step = Math.floor(now / 30_000);
    expect(matchTotp(RFC_SECRET, totpCode(RFC_SECRET, now - 30_000), now)).toBe(step - 1);
    expect(matchTotp(RFC_SECRET, totpCode(RFC_SECRET, now + 30_000), now)).toBe(step + 1);
    expect(matchTotp(RFC_SECRET, totpCode(RFC_SECRET, now - 60_000), now)).toBeUndefined();
    expect(matchTotp(RFC_SECRET, totpCode(RFC_SECRET, now + 60_000), now)).toBeUndefined();
  });

  it.each(['', '12345', '1234567', 'abcdef', ' 123456', '12345６'])(
    'refuses %j without computing anything',
    (code) => {
      expect(matchTotp(RFC_SECRET, code, 59_000)).toBeUndefined();
    },
  );

  it('makes 160-bit secrets, base32 without padding, and otpauth URLs apps read', () => {
    const secret = newTotpSecret();
    expect(secret).toHaveLength(20);
    expect(newTotpSecret().equals(secret)).toBe(false);
    const text = base32Secret(secret);
    expect(text).toMatch(/^[A-Z2-7]{32}$/);
    const url = new URL(otpauthUrl(secret, 'ada@example.com', 'authkit'));
    expect(url.protocol).toBe('otpauth:');
    expect(url.host).toBe('totp');
    expect(decodeURIComponent(url.pathname)).toBe('/authkit:ada@example.com');
    expect(url.searchParams.get('secret')).toBe(text);
    expect(url.searchParams.get('issuer')).toBe('authkit');
    expect(url.searchParams.get('digits')).toBe('6');
    expect(url.searchParams.get('period')).toBe('30');
  });
});

describe('recovery codes', () => {
  it('are ten different xxxxx-xxxxx codes of the base32 alphabet', () => {
    const codes = newRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(/^[a-z2-7]{5}-[a-z2-7]{5}$/);
  });

  it.each([
    ['abcde-fgh23', 'abcdefgh23'],
    ['ABCDE-FGH23', 'abcdefgh23'],
    [' abcde fgh23 ', 'abcdefgh23'],
    ['abcdefgh23', 'abcdefgh23'],
  ])('reads %j as %s', (typed, canonical) => {
    expect(canonicalRecoveryCode(typed)).toBe(canonical);
  });

  it.each(['', 'abcde-fgh2', 'abcde-fgh234', 'abcde-fgh01', 'abcde_fgh23'])(
    'refuses %j',
    (typed) => {
      expect(canonicalRecoveryCode(typed)).toBeUndefined();
    },
  );
});
