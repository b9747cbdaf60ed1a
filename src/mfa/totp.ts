import { Secret, TOTP } from 'otpauth';

/**
 * TOTP (RFC 6238) with the parameters every authenticator app reads from an otpauth://
 * URL: HMAC-SHA1, 6 digits, 30 s steps. A code is accepted in its step and one step
 * either side (clock drift); the step it matched is returned, so that the caller can
 * refuse a code of a step at or before the last one used (replay).
 */
export const TOTP_PERIOD_SECONDS = 30;
const DIGITS = 6;
const ALGORITHM = 'SHA1';
/** Steps either side of now that are accepted. */
export const TOTP_DRIFT_STEPS = 1;
/** 160 bits, as RFC 4226 recommends (the size of an HMAC-SHA1 key). */
export const TOTP_SECRET_BYTES = 20;

export function newTotpSecret(): Buffer {
  return Buffer.from(new Secret({ size: TOTP_SECRET_BYTES }).bytes);
}

export function base32Secret(secret: Buffer): string {
  return new Secret({ buffer: toArrayBuffer(secret) }).base32;
}

function totp(secret: Buffer, label = 'user', issuer = 'authkit'): TOTP {
  return new TOTP({
    issuer,
    label,
    algorithm: ALGORITHM,
    digits: DIGITS,
    period: TOTP_PERIOD_SECONDS,
    secret: new Secret({ buffer: toArrayBuffer(secret) }),
  });
}

/** The otpauth:// URL an authenticator app scans: `issuer:label`, the secret, the parameters. */
export function otpauthUrl(secret: Buffer, label: string, issuer: string): string {
  return totp(secret, label, issuer).toString();
}

/**
 * The 30 s step that `code` is valid for, within the drift window around `nowMs`, or
 * undefined. otpauth compares the candidates in constant time.
 */
export function matchTotp(secret: Buffer, code: string, nowMs = Date.now()): number | undefined {
  if (!/^\d{6}$/.test(code)) return undefined;
  const delta = TOTP.validate({
    token: code,
    secret: new Secret({ buffer: toArrayBuffer(secret) }),
    algorithm: ALGORITHM,
    digits: DIGITS,
    period: TOTP_PERIOD_SECONDS,
    timestamp: nowMs,
    window: TOTP_DRIFT_STEPS,
  });
  if (delta === null) return undefined;
  return TOTP.counter({ period: TOTP_PERIOD_SECONDS, timestamp: nowMs }) + delta;
}

/** The code of the step at `nowMs` (for tests and the bench). */
export function totpCode(secret: Buffer, nowMs = Date.now()): string {
  return TOTP.generate({
    secret: new Secret({ buffer: toArrayBuffer(secret) }),
    algorithm: ALGORITHM,
    digits: DIGITS,
    period: TOTP_PERIOD_SECONDS,
    timestamp: nowMs,
  });
}

function toArrayBuffer(bytes: Buffer): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}
