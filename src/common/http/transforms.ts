import type { TransformFnParams } from 'class-transformer';

/** class-transformer helpers: trim strings (and lower-case) before validation, leave the rest. */
export const trimmed = ({ value }: TransformFnParams): unknown =>
  typeof value === 'string' ? value.trim() : value;

export const lowerTrimmed = ({ value }: TransformFnParams): unknown =>
  typeof value === 'string' ? value.trim().toLowerCase() : value;
