import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsString, ValidateBy, type ValidationOptions } from 'class-validator';
import { emailTransform, usernameTransform } from '../../common/http/transforms.js';
import { emailProblem, usernameProblem } from '../../common/identifiers.js';

/**
 * An email field: normalized by `normalizeEmail`, then accepted only when `emailProblem`
 * finds nothing. One validator that checks the value's text before the address syntax, so
 * a lone surrogate is a 400 and never reaches `validator`'s `encodeURI` (a URIError, a 500).
 * The rate-limit account key uses the very same two functions (`acceptedEmail`).
 */
export function IsAccountEmail(options?: ValidationOptions): PropertyDecorator {
  return applyDecorators(
    Transform(emailTransform),
    ValidateBy(
      {
        name: 'isAccountEmail',
        validator: {
          validate: (value: unknown) => typeof value !== 'string' || !emailProblem(value),
          defaultMessage: (args) =>
            (typeof args?.value === 'string' && emailProblem(args.value, args.property)) ||
            `${args?.property ?? 'email'} must be an email`,
        },
      },
      options,
    ),
    IsString(options),
  );
}

/** A username field: `normalizeUsername`, then `usernameProblem` (see `IsAccountEmail`). */
export function IsAccountUsername(options?: ValidationOptions): PropertyDecorator {
  return applyDecorators(
    Transform(usernameTransform),
    ValidateBy(
      {
        name: 'isAccountUsername',
        validator: {
          validate: (value: unknown) => typeof value !== 'string' || !usernameProblem(value),
          defaultMessage: (args) =>
            (typeof args?.value === 'string' && usernameProblem(args.value, args.property)) ||
            `${args?.property ?? 'username'} must be 3 to 32 of a-z, 0-9, _, . and -`,
        },
      },
      options,
    ),
    IsString(options),
  );
}
