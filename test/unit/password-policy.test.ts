// Unit tests: the password rules (length in code points, the common-password list, no
// identifiers of the account, compared in policy form), without a server.
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/common/errors/app-error.js';
import {
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
  PasswordPolicy,
} from '../../src/users/password-policy.js';

const policy = new PasswordPolicy();

function reason(password: string, context = {}, field?: string): string | undefined {
  try {
    policy.check(password, context, field);
    return undefined;
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    expect(error.code).toBe('WEAK_PASSWORD');
    return error.detail;
  }
}

describe('PasswordPolicy', () => {
  it('accepts a long uncommon passphrase', () => {
    expect(reason('correct horse battery staple')).toBeUndefined();
  });

  it(`counts code points: ${PASSWORD_MIN_LENGTH} emoji are long enough, one fewer is not`, () => {
    expect(reason('😀'.repeat(PASSWORD_MIN_LENGTH))).toBeUndefined();
    expect(reason('😀'.repeat(PASSWORD_MIN_LENGTH - 1))).toMatch(/at least/);
  });

  it(`refuses more than ${PASSWORD_MAX_LENGTH} characters`, () => {
    expect(reason('a'.repeat(PASSWORD_MAX_LENGTH + 1) + 'Zq9')).toMatch(/at most/);
  });

  it.each(['password1', 'PASSWORD1', 'password1 ', 'pass\u200bword1', 'ｐａｓｓｗｏｒｄ１'])(
    'refuses the common password %j in any of its spellings',
    (password) => {
      expect(reason(password)).toMatch(/too common/);
    },
  );

  it('refuses a password containing the email local part or the username, in any case', () => {
    expect(reason('my-Ada.Lovelace-pass', { email: 'ada.lovelace@example.com' })).toMatch(/email/);
    expect(reason('xx-ADA_L-yy-zz', { username: 'ada_l' })).toMatch(/username/);
    // Too short to be a meaningful match: not held against the password.
    expect(
      reason('ab-unrelated-words', { email: 'ab@example.com', username: 'ab' }),
    ).toBeUndefined();
  });

  it('names the field it checked', () => {
    expect(reason('short', {}, 'newPassword')).toMatch(/^newPassword /);
  });
});
