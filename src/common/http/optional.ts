import { ValidateIf } from 'class-validator';

/**
 * Like `@IsOptional()` for fields that may be omitted but never null: `null` is validated
 * like any other value and so rejected, instead of reaching a NOT NULL column.
 */
export const OptionalNotNull = (): PropertyDecorator =>
  ValidateIf((_object, value: unknown) => value !== undefined);
