import { Injectable, type OnModuleInit } from '@nestjs/common';
import { AppError } from '../common/errors/app-error.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { assertCommonPasswordList, isCommonPassword } from './common-passwords.js';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './password-limits.js';
import { policyForm } from './password-text.js';

export { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH };

export interface PasswordContext {
  email?: string | null | undefined;
  username?: string | null | undefined;
}

/**
 * The password rules of API.md (NIST SP 800-63B style): length in Unicode code points, no
 * composition rules, not one of the most common breached passwords (compared
 * case-insensitively), and nothing derived from the account's own identifiers. Both
 * comparisons use `policyForm` (NFKC, case folded, invisible characters and surrounding
 * white space removed): `password1 `, `password1\u200b` and `ｐａｓｓｗｏｒｄ１` are `password1`.
 * Throws `WEAK_PASSWORD` naming the reason and the field.
 */
@Injectable()
export class PasswordPolicy implements OnModuleInit {
  /**
   * A missing common-password list stops the start. The list itself is read by the first
   * password check (about 30 ms, once), not at start-up.
   */
  onModuleInit(): void {
    assertCommonPasswordList();
  }

  check(password: string, context: PasswordContext, field = 'password'): void {
    const reason = this.reasonToReject(password, context);
    if (reason) {
      throw new AppError(ErrorCode.WEAK_PASSWORD, `${field} ${reason}`, [
        { field, message: `${field} ${reason}` },
      ]);
    }
  }

  private reasonToReject(password: string, context: PasswordContext): string | undefined {
    const length = [...password].length;
    if (length < PASSWORD_MIN_LENGTH)
      return `must be at least ${PASSWORD_MIN_LENGTH} characters long`;
    if (length > PASSWORD_MAX_LENGTH)
      return `must be at most ${PASSWORD_MAX_LENGTH} characters long`;
    const compared = policyForm(password);
    if (isCommonPassword(compared)) {
      return 'is too common: it is on a list of passwords exposed in data breaches';
    }
    const localPart = context.email ? policyForm(context.email.split('@')[0]) : undefined;
    if (localPart && localPart.length >= 3 && compared.includes(localPart)) {
      return 'must not contain the email address';
    }
    const username = context.username ? policyForm(context.username) : undefined;
    if (username && username.length >= 3 && compared.includes(username)) {
      return 'must not contain the username';
    }
    return undefined;
  }
}
