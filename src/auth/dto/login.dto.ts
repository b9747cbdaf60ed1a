import { IsString, MaxLength } from 'class-validator';
import { OptionalNotNull } from '../../common/http/optional.js';
import { IsAccountEmail, IsAccountUsername } from '../../users/dto/identifier.validator.js';

/**
 * `password` and exactly one of `email` or `username`, each normalized and checked like at
 * registration (a value no account can have is a 400, not a failed login). `null` is
 * refused like any other non-string.
 */
export class LoginDto {
  /** @example "ada@example.com" */
  @OptionalNotNull()
  @IsAccountEmail()
  email?: string;

  /** @example "ada" */
  @OptionalNotNull()
  @IsAccountUsername()
  username?: string;

  /** @example "correct horse battery staple" */
  @IsString()
  @MaxLength(1024)
  password: string;
}
