import { HttpException, HttpStatus } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import { AppError, type FieldError } from './app-error.js';
import { DEFAULT_DETAIL, ERROR_STATUS, ErrorCode } from './error-code.js';
import { UNAVAILABLE_RETRY_AFTER_S, unavailableReason } from './unavailable.js';

/** An RFC 9457 problem document as this service sends it. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  errors?: FieldError[];
  requestId?: string;
  /** Extension members of some codes: `methods` of `REAUTH_REQUIRED`. */
  [extension: string]: unknown;
}

export interface ProblemResponse {
  problem: Problem;
  headers: Record<string, string>;
  /** The error was not expected (a bug) and deserves a log line with its stack. */
  unexpected: boolean;
  /** Set when a dependency is unavailable (see `unavailable.ts`): logged as one warning, no stack. */
  unavailable?: string;
}

const CODE_BY_STATUS: Partial<Record<number, ErrorCode>> = {
  400: ErrorCode.VALIDATION_FAILED,
  401: ErrorCode.UNAUTHORIZED,
  403: ErrorCode.FORBIDDEN,
  404: ErrorCode.NOT_FOUND,
  405: ErrorCode.METHOD_NOT_ALLOWED,
  409: ErrorCode.CONFLICT,
  413: ErrorCode.PAYLOAD_TOO_LARGE,
  415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
  429: ErrorCode.RATE_LIMITED,
  503: ErrorCode.SERVICE_UNAVAILABLE,
};

/**
 * Maps anything thrown while handling a request to a problem document. Only details we
 * wrote ourselves reach the client: framework messages for 4xx are kept when they are
 * about the request (e.g. "Unexpected token in JSON"), 5xx never carry one.
 */
export function toProblem(error: unknown, requestId: string | undefined): ProblemResponse {
  if (error instanceof AppError) {
    return build(
      error.code,
      error.detail,
      requestId,
      error.errors,
      error.headers,
      error.extensions,
    );
  }
  const unavailable = unavailableReason(error);
  if (unavailable !== undefined) {
    return {
      ...build(ErrorCode.SERVICE_UNAVAILABLE, undefined, requestId, undefined, {
        'retry-after': String(UNAVAILABLE_RETRY_AFTER_S),
      }),
      unavailable,
    };
  }
  const status = statusOf(error);
  const code =
    CODE_BY_STATUS[status] ?? (status >= 500 ? ErrorCode.INTERNAL : ErrorCode.VALIDATION_FAILED);
  if (status >= 500) {
    const unexpected = code === ErrorCode.INTERNAL;
    // Every 503 (the readiness probe's included) tells the client when to come back.
    const headers =
      code === ErrorCode.SERVICE_UNAVAILABLE
        ? { 'retry-after': String(UNAVAILABLE_RETRY_AFTER_S) }
        : undefined;
    return { ...build(code, undefined, requestId, undefined, headers), unexpected };
  }
  return build(code, clientMessage(error, code), requestId);
}

function build(
  code: ErrorCode,
  detail: string | undefined,
  requestId: string | undefined,
  errors?: FieldError[],
  headers: Record<string, string> = {},
  extensions: Record<string, unknown> = {},
): ProblemResponse {
  const status = ERROR_STATUS[code];
  const problem: Problem = {
    ...extensions,
    type: 'about:blank',
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail: detail ?? DEFAULT_DETAIL[code],
    code,
    ...(errors?.length ? { errors } : {}),
    ...(requestId ? { requestId } : {}),
  };
  return { problem, headers, unexpected: false };
}

function statusOf(error: unknown): number {
  if (error instanceof HttpException) return error.getStatus();
  if (typeof error === 'object' && error !== null && 'statusCode' in error) {
    const status = error.statusCode;
    if (typeof status === 'number' && status >= 400 && status < 600) return status;
  }
  return HttpStatus.INTERNAL_SERVER_ERROR;
}

/** Codes whose framework message is never shown: ours says the same without internals. */
const FIXED_DETAIL = new Set<ErrorCode>([
  ErrorCode.NOT_FOUND,
  ErrorCode.UNAUTHORIZED,
  ErrorCode.FORBIDDEN,
  ErrorCode.PAYLOAD_TOO_LARGE,
  ErrorCode.UNSUPPORTED_MEDIA_TYPE,
  ErrorCode.RATE_LIMITED,
]);

/** A safe, human message for a 4xx raised by the framework rather than by our code. */
function clientMessage(error: unknown, code: ErrorCode): string {
  if (FIXED_DETAIL.has(code)) return DEFAULT_DETAIL[code];
  // Nest wraps Fastify's own errors (body parsing) in an HttpException with the original as cause.
  const source = error instanceof HttpException && error.cause ? error.cause : error;
  const fastifyCode = (source as { code?: unknown }).code;
  if (fastifyCode === 'FST_ERR_CTP_INVALID_JSON_BODY' || source instanceof SyntaxError) {
    return 'The request body is not valid JSON.';
  }
  if (fastifyCode === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
    return 'The request body is empty; send a JSON object.';
  }
  return DEFAULT_DETAIL[code];
}
