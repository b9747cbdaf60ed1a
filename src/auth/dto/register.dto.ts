import { Transform } from 'class-transformer';
import { IsNewPassword } from '../../users/dto/password.validator.js';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { trimmed } from '../../common/http/transforms.js';
import { IsAccountEmail, IsAccountUsername } from '../../users/dto/identifier.validator.js';

export class RegisterDto {
  /**
   * Normalized before it is stored (trimmed, fullwidth forms mapped, lower-cased, NFC);
   * control, invisible and space characters inside it are refused. @example "ada@example.com"
   */
  @IsAccountEmail()
  email: string;

  /**
   * 8 to 128 characters (Unicode code points), no composition rules; rejected with
   * `WEAK_PASSWORD` when it is too short or long, commonly used, or contains the email's
   * local part or the username. @example "correct horse battery staple"
   */
  @IsNewPassword()
  password: string;

  /**
   * 3–32 of `a-z 0-9 _ . -` once normalized like the email, so compared case-insensitively
   * and stored lower-cased. @example "ada"
   */
  @IsOptional()
  @IsAccountUsername()
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
