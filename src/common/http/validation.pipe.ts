import { ValidationPipe, type ArgumentMetadata, type ValidationError } from '@nestjs/common';
import { AppError, type FieldError } from '../errors/app-error.js';
import { ErrorCode } from '../errors/error-code.js';
import { fieldsWithNul, MAX_INPUT_DEPTH, nestsDeeperThan } from './input-shape.js';

/**
 * Validates every DTO: unknown properties are rejected (no mass assignment), values are
 * transformed to their declared types, and failures become `VALIDATION_FAILED` with one
 * entry per field. A body that is not a JSON object (an array, a string) is refused too, and
 * so is input nested deeper than `MAX_INPUT_DEPTH`.
 */
export class AppValidationPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
      transform: true,
      validationError: { target: false, value: false },
      exceptionFactory: (errors) => {
        const fieldErrors = flatten(errors);
        const code = onlyPolicyFailures(errors)
          ? ErrorCode.WEAK_PASSWORD
          : ErrorCode.VALIDATION_FAILED;
        return new AppError(code, fieldErrors[0]?.message, fieldErrors);
      },
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && typeof metadata.metatype === 'function') {
      if (value === undefined || value === null) value = {};
      if (typeof value !== 'object' || Array.isArray(value)) {
        throw new AppError(ErrorCode.VALIDATION_FAILED, 'The request body must be a JSON object.');
      }
    }
    // Bodies are checked by the JSON parser already (see configureFastify); this covers the
    // query string and path parameters, and keeps every walk below bounded.
    if (nestsDeeperThan(value)) {
      throw new AppError(
        ErrorCode.VALIDATION_FAILED,
        `The input nests deeper than ${MAX_INPUT_DEPTH} levels.`,
      );
    }
    // U+0000 is refused for every DTO here rather than failing in the database as a 500.
    const withNul = fieldsWithNul(value);
    if (withNul.length) {
      const errors = withNul.map((field) => ({
        field,
        message: `${field} must not contain the NUL character`,
      }));
      throw new AppError(ErrorCode.VALIDATION_FAILED, errors[0].message, errors);
    }
    return super.transform(value, metadata);
  }
}

/** True when every failed constraint is a password-policy one (see `IsNewPassword`). */
function onlyPolicyFailures(errors: ValidationError[]): boolean {
  const contexts: unknown[] = errors.flatMap((error): unknown[] =>
    Object.values(error.contexts ?? {}),
  );
  const failures = errors.reduce(
    (sum, error) => sum + Object.keys(error.constraints ?? {}).length,
    0,
  );
  return (
    failures > 0 &&
    errors.every((error) => !error.children?.length) &&
    contexts.length === failures &&
    contexts.every((context) => (context as { code?: unknown }).code === ErrorCode.WEAK_PASSWORD)
  );
}

/**
 * One entry per invalid field. class-validator lists a property's failed constraints
 * bottom-up, so the last one is the decorator written first: the most basic rule
 * ("must be a string" rather than "must be shorter than...").
 */
function flatten(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const messages = Object.values(error.constraints ?? {});
    const message = messages[messages.length - 1];
    const own =
      message === undefined
        ? []
        : [
            {
              field,
              message: message.startsWith('property ') ? `${field} is not allowed` : message,
            },
          ];
    return [...own, ...flatten(error.children ?? [], field)];
  });
}
