import { Param, ParseUUIDPipe } from '@nestjs/common';
import { ApiParam } from '@nestjs/swagger';
import { AppError } from '../errors/app-error.js';
import { ErrorCode } from '../errors/error-code.js';

/** Documents a UUID path parameter (a malformed one is answered 400 VALIDATION_FAILED). */
export function ApiUuidParam(name: string, description: string): MethodDecorator {
  return ApiParam({
    name,
    description,
    schema: { type: 'string', format: 'uuid', example: '2f0c7a3e-8c2e-4d55-9a3b-1f1f7e0c9b21' },
  });
}

/** A UUID path parameter; a malformed one is a 400 VALIDATION_FAILED naming it. */
export function UuidParam(name: string): ParameterDecorator {
  const message = `${name} must be a UUID`;
  return Param(
    name,
    new ParseUUIDPipe({
      exceptionFactory: () =>
        new AppError(ErrorCode.VALIDATION_FAILED, message, [{ field: name, message }]),
    }),
  );
}
