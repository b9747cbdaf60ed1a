import { randomInt } from 'node:crypto';

/**
 * Recovery codes: 10 per user, each 10 characters of the RFC 4648 base32 alphabet (50
 * bits), shown as `xxxxx-xxxxx`. Typed back, case, spaces and dashes do not matter.
 */
export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const LENGTH = 10;

export function newRecoveryCodes(count = RECOVERY_CODE_COUNT): string[] {
  const codes = new Set<string>();
  while (codes.size < count) {
    let code = '';
    for (let i = 0; i < LENGTH; i += 1) code += ALPHABET[randomInt(ALPHABET.length)];
    codes.add(`${code.slice(0, 5)}-${code.slice(5)}`);
  }
  return [...codes];
}

/** The canonical form of a typed code (`xxxxxxxxxx`), or undefined when it cannot be one. */
export function canonicalRecoveryCode(typed: string): string | undefined {
  const code = typed.toLowerCase().replace(/[\s-]/g, '');
  return code.length === LENGTH && [...code].every((c) => ALPHABET.includes(c)) ? code : undefined;
}
