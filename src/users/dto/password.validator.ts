import { applyDecorators } from '@nestjs/common';
import { IsString, ValidateBy, type ValidationOptions } from 'class-validator';
import { ErrorCode } from '../../common/errors/error-code.js';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../password-policy.js';

/**
 * A new password: a string of 8 to 128 Unicode code points. Failing only this rule gives
 * `WEAK_PASSWORD` (it is the password policy); failing it together with other fields
 * gives one `VALIDATION_FAILED` listing every field. The rest of the policy (common
 * passwords, the account's own email or username) is checked by `PasswordPolicy`.
 */
export function IsNewPassword(options?: ValidationOptions): PropertyDecorator {
  // A non-string is a malformed request (VALIDATION_FAILED), not a weak password.
  const length = ValidateBy(
    {
      name: 'isNewPassword',
      validator: {
        validate: (value: unknown) => {
          if (typeof value !== 'string') return true;
          const length = [...value].length;
          return length >= PASSWORD_MIN_LENGTH && length <= PASSWORD_MAX_LENGTH;
        },
        defaultMessage: (args) =>
          `${args?.property ?? 'password'} must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters long`,
      },
    },
    { ...options, context: { code: ErrorCode.WEAK_PASSWORD } },
  );
  return applyDecorators(length, IsString(options));
}
