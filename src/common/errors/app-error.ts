import { ErrorCode } from './error-code.js';

export interface FieldError {
  field: string;
  message: string;
}

/**
 * A domain error: services throw it with a code, and the global problem filter turns it
 * into the matching status and RFC 9457 body.
 */
export class AppError extends Error {
  override readonly name = 'AppError';

  constructor(
    readonly code: ErrorCode,
    readonly detail?: string,
    readonly errors?: FieldError[],
    /** Extra response headers, such as `Retry-After`. */
    readonly headers?: Record<string, string>,
    /** Extension members of the problem document (RFC 9457 §3.2), such as `methods`. */
    readonly extensions?: Record<string, unknown>,
  ) {
    super(detail ?? code);
  }
}
