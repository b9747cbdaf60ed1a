import { ApiProperty } from '@nestjs/swagger';
import { ErrorCode } from '../errors/error-code.js';

export class FieldErrorDto {
  /** @example "email" */
  field: string;

  /** @example "email must be an email" */
  message: string;
}

/** RFC 9457 problem document; every error of the API has this shape. */
export class ProblemDto {
  /** @example "about:blank" */
  type: string;

  /** The HTTP status text. @example "Bad Request" */
  title: string;

  /** @example 400 */
  status: number;

  /** What went wrong, for people. @example "email must be an email" */
  detail: string;

  /** Stable, machine-readable. */
  @ApiProperty({ enum: ErrorCode, enumName: 'ErrorCode', example: ErrorCode.VALIDATION_FAILED })
  code: ErrorCode;

  /** Present on validation failures: one entry per offending field. */
  @ApiProperty({ type: [FieldErrorDto], required: false })
  errors?: FieldErrorDto[];

  /** Also in the `X-Request-Id` response header. @example "b6c1e7a2-4a0b-4a53-9c55-6f2f1d0b7c11" */
  @ApiProperty({ format: 'uuid' })
  requestId: string;
}
