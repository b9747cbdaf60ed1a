import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, type TransformFnParams } from 'class-transformer';
import { IsBoolean, IsIn, IsOptional } from 'class-validator';
import { CONFLICT_MODES, type ConflictMode } from '../user-import.js';

const booleanText = ({ value }: TransformFnParams): unknown =>
  value === 'true' ? true : value === 'false' ? false : value;

/** The options of `POST /api/users/import`, as the CLI's flags (docs/migration.md). */
export class ImportUsersQueryDto {
  /** What to do with a row that matches an existing user (by id, externalId, email or username). */
  @ApiPropertyOptional({ enum: CONFLICT_MODES, default: 'fail' })
  @IsOptional()
  @IsIn(CONFLICT_MODES, { message: `onConflict must be one of ${CONFLICT_MODES.join(', ')}` })
  onConflict: ConflictMode = 'fail';

  /** Check every row (in rolled-back transactions) and answer the report; write nothing. */
  @ApiPropertyOptional({ type: Boolean, default: false, example: true })
  @IsOptional()
  @Transform(booleanText)
  @IsBoolean({ message: 'dryRun must be true or false' })
  dryRun = false;

  /** Import rows without a usable hash password-less (they set one through forgot-password). */
  @ApiPropertyOptional({ type: Boolean, default: false, example: false })
  @IsOptional()
  @Transform(booleanText)
  @IsBoolean({ message: 'allowNoPassword must be true or false' })
  allowNoPassword = false;

  /** Bare bcrypt hashes are Flask-Security's (HMAC with FLASK_SECURITY_PASSWORD_SALT first). */
  @ApiPropertyOptional({ type: Boolean, default: false, example: false })
  @IsOptional()
  @Transform(booleanText)
  @IsBoolean({ message: 'flaskSecurity must be true or false' })
  flaskSecurity = false;
}

/** What happened to one row (line numbers of the body, from 1). */
export class ImportRowResultDto {
  /** @example 3 */
  line: number;

  /**
   * `inserted`, `updated`, `skipped` (already there), `error` (refused: its batch is not
   * written), `not written` (fine, but another row of its batch was refused) or `warning`.
   */
  @ApiPropertyOptional({
    enum: ['inserted', 'updated', 'skipped', 'error', 'not written', 'warning'],
    example: 'inserted',
  })
  outcome: string;

  /** @example "2f0c7a3e-8c2e-4d55-9a3b-1f1f7e0c9b21" */
  userId?: string;

  /** @example "email" */
  field?: string;

  /** @example "email must be an email" */
  message?: string;
}

/** A batch that was not written, by the lines it covers. */
export class FailedBatchDto {
  /** @example 1001 */
  firstLine: number;

  /** @example 2000 */
  lastLine: number;
}

/** The import's report: counts, then one entry per row. */
export class ImportReportDto {
  /** @example false */
  dryRun: boolean;

  /** @example 3 */
  rows: number;

  /** @example 2 */
  inserted: number;

  /** @example 0 */
  updated: number;

  /** @example 0 */
  skipped: number;

  /** Rows refused. @example 1 */
  errors: number;

  /** Good rows not written because another row of their batch was refused. @example 0 */
  notWritten: number;

  /** @example 0 */
  warnings: number;

  /** Line ranges of the batches that were not written. */
  failedBatches: FailedBatchDto[];

  /** Fields of the body that are not import fields. @example ["fs_uniquifier"] */
  ignoredFields: string[];

  results: ImportRowResultDto[];
}
