import { Injectable } from '@nestjs/common';
import { AppError } from '../common/errors/app-error.js';
import { ErrorCode } from '../common/errors/error-code.js';

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

export interface PasswordContext {
  email?: string | null | undefined;
  username?: string | null | undefined;
}

/**
 * The password rules of API.md (NIST SP 800-63B style): length in Unicode code points, no
 * composition rules, and nothing derived from the account's own identifiers.
 * Throws `WEAK_PASSWORD` naming the reason and the field.
 */
@Injectable()
export class PasswordPolicy {
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
    const lower = password.toLowerCase();
    const localPart = context.email?.split('@')[0]?.toLowerCase();
    if (localPart && localPart.length >= 3 && lower.includes(localPart)) {
      return 'must not contain the email address';
    }
    const username = context.username?.toLowerCase();
    if (username && username.length >= 3 && lower.includes(username)) {
      return 'must not contain the username';
    }
    return undefined;
  }
}
