import { Transform } from 'class-transformer';
import { IsNewPassword } from '../../users/dto/password.validator.js';
import { IsEmail, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { trimmed, lowerTrimmed } from '../../common/http/transforms.js';

export class RegisterDto {
  /** Trimmed and lower-cased before it is stored. @example "ada@example.com" */
  @Transform(lowerTrimmed)
  @IsEmail({}, { message: 'email must be an email' })
  @MaxLength(254)
  email: string;

  /**
   * 8 to 128 characters (Unicode code points), no composition rules; rejected with
   * `WEAK_PASSWORD` when it is too short or long, commonly used, or contains the email's
   * local part or the username. @example "correct horse battery staple"
   */
  @IsNewPassword()
  password: string;

  /** 3–32 of `a-z 0-9 _ . -`, compared case-insensitively and stored lower-cased. @example "ada" */
  @IsOptional()
  @Transform(lowerTrimmed)
  @IsString()
  @Matches(/^[a-z0-9_.-]{3,32}$/, { message: 'username must be 3 to 32 of a-z, 0-9, _, . and -' })
  username?: string;

  /** @example "Ada" */
  @IsOptional()
  @Transform(trimmed)
  @IsString()
  @MaxLength(100)
  firstName?: string;

  /** @example "Lovelace" */
  @IsOptional()
  @Transform(trimmed)
  @IsString()
  @MaxLength(100)
  lastName?: string;
}
