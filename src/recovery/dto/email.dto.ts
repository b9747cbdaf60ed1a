import { Transform } from 'class-transformer';
import { IsEmail, MaxLength } from 'class-validator';
import { lowerTrimmed } from '../../common/http/transforms.js';

/** A request about an account identified by its email (forgot-password, resend-verification). */
export class EmailDto {
  /** Trimmed and lower-cased before it is compared. @example "ada@example.com" */
  @Transform(lowerTrimmed)
  @IsEmail({}, { message: 'email must be an email' })
  @MaxLength(254)
  email: string;
}
