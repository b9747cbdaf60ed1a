import { IsNewPassword } from '../../users/dto/password.validator.js';
import { IsOptional, IsString, MaxLength } from 'class-validator';

export class ChangePasswordDto {
  /** @example "correct horse battery staple" */
  @IsString()
  @MaxLength(1024)
  currentPassword: string;

  /** Same rules as at registration. @example "another long passphrase" */
  @IsNewPassword()
  newPassword: string;

  /**
   * When present it must equal `newPassword` (`PASSWORD_MISMATCH`).
   * @example "another long passphrase"
   */
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  confirmPassword?: string;
}
