import type { TransformFnParams } from 'class-transformer';
import { normalizeEmail, normalizeUsername } from '../identifiers.js';

/** class-transformer helpers: trim strings (and lower-case) before validation, leave the rest. */
export const trimmed = ({ value }: TransformFnParams): unknown =>
  typeof value === 'string' ? value.trim() : value;

/** An email field: the identifier normalizer of `common/identifiers.ts`, nothing else. */
export const emailTransform = ({ value }: TransformFnParams): unknown =>
  typeof value === 'string' ? normalizeEmail(value) : value;

/** A username field: the identifier normalizer of `common/identifiers.ts`, nothing else. */
export const usernameTransform = ({ value }: TransformFnParams): unknown =>
  typeof value === 'string' ? normalizeUsername(value) : value;
