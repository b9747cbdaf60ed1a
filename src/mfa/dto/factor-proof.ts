import { AppError } from '../../common/errors/app-error.js';
import { ErrorCode } from '../../common/errors/error-code.js';
import type { FactorProof } from '../mfa.service.js';

/** Exactly one of `code` and `recoveryCode`, else 400 naming the fields. */
export function exactlyOneFactor(dto: { code?: string; recoveryCode?: string }): FactorProof {
  // `null` passes `@IsOptional()`: it counts as absent, like an empty string.
  const hasCode = given(dto.code);
  const hasRecovery = given(dto.recoveryCode);
  if (hasCode === hasRecovery) {
    throw new AppError(ErrorCode.VALIDATION_FAILED, 'Send exactly one of code or recoveryCode.', [
      {
        field: hasCode ? 'recoveryCode' : 'code',
        message: 'send exactly one of code or recoveryCode',
      },
    ]);
  }
  return hasCode ? { code: dto.code } : { recoveryCode: dto.recoveryCode };
}

/** A non-empty string (what `@IsOptional() @IsString()` lets through besides null). */
export function given(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}
