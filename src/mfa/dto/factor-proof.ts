import { AppError } from '../../common/errors/app-error.js';
import { ErrorCode } from '../../common/errors/error-code.js';
import type { FactorProof } from '../mfa.service.js';

/** Exactly one of `code` and `recoveryCode`, else 400 naming the fields. */
export function exactlyOneFactor(dto: { code?: string; recoveryCode?: string }): FactorProof {
  const hasCode = dto.code !== undefined && dto.code !== '';
  const hasRecovery = dto.recoveryCode !== undefined && dto.recoveryCode !== '';
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
