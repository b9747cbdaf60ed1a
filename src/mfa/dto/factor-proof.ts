import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { AppError } from '../../common/errors/app-error.js';
import { ErrorCode } from '../../common/errors/error-code.js';
import type { FactorProof } from '../mfa.service.js';

/** The fields a second factor can be presented in (`FactorCodesDto`). */
export const FACTOR_FIELDS = ['code', 'recoveryCode', 'webauthn'] as const;

/** Exactly one of `code`, `recoveryCode` and `webauthn`, else 400 naming the fields. */
export function exactlyOneFactor(dto: {
  code?: string;
  recoveryCode?: string;
  webauthn?: object;
}): FactorProof {
  // `null` passes `@IsOptional()`: it counts as absent, like an empty string.
  const present = FACTOR_FIELDS.filter((field) => given(dto[field]));
  if (present.length !== 1) {
    throw new AppError(
      ErrorCode.VALIDATION_FAILED,
      'Send exactly one of code, recoveryCode or webauthn.',
      [
        {
          field: present[1] ?? 'code',
          message: 'send exactly one of code, recoveryCode or webauthn',
        },
      ],
    );
  }
  switch (present[0]) {
    case 'code':
      return { code: dto.code };
    case 'recoveryCode':
      return { recoveryCode: dto.recoveryCode };
    case 'webauthn':
    default:
      return { webauthn: dto.webauthn as AuthenticationResponseJSON };
  }
}

/** A non-empty string or an object (what `@IsOptional()` lets through besides null). */
export function given(value: unknown): boolean {
  return (
    (typeof value === 'string' && value !== '') || (typeof value === 'object' && value !== null)
  );
}
