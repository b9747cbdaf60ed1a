import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { IsNewPassword } from '../../users/dto/password.validator.js';

export class ResetPasswordDto {
  /**
   * Either the token of the emailed link (`/reset-password?token=...`) or the `reset_token`
   * that `verify-otp` answered. Works once. @example "Xb3v0q7k2mC9yQp1..."
   */
  @IsString()
  @IsNotEmpty()
  @MaxLength(512)
  token: string;

  /**
   * 8 to 128 characters (Unicode code points), no composition rules; rejected with
   * `WEAK_PASSWORD` when it is commonly used or contains the email's local part or the
   * username. @example "correct horse battery staple"
   */
  @IsNewPassword()
  newPassword: string;
}
