import { ApiProperty } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';

/** The answer to a correct password when the account has a second factor: no tokens yet. */
export class MfaRequiredDto {
  @ApiProperty({ enum: [true], example: true })
  mfa_required: true;

  /**
   * Opaque, single-use, for `POST /api/auth/mfa/verify` within `expires_in` seconds; five
   * wrong codes end it. @example "c2VjcmV0LW1mYS10b2tlbi1leGFtcGxl..."
   */
  mfa_token: string;

  /** Seconds until the `mfa_token` expires. @example 300 */
  expires_in: number;

  /** What the second step accepts. @example ["totp","recovery_code"] */
  @ApiProperty({ enum: ['totp', 'recovery_code'], isArray: true })
  methods: ('totp' | 'recovery_code')[];
}

/** Exactly one of `password`, `code` or `recoveryCode`. */
export class ReauthenticateDto {
  /** The current password. @example "correct horse battery staple" */
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  password?: string;

  /** A current code of the authenticator app. @example "123456" */
  @IsOptional()
  @IsString()
  @MaxLength(64)
  code?: string;

  /** One of the unused recovery codes. @example "abcde-fgh23" */
  @IsOptional()
  @IsString()
  @MaxLength(64)
  recoveryCode?: string;
}

/** The second step of a login: the `mfa_token` and exactly one of `code` or `recoveryCode`. */
export class MfaVerifyDto {
  /** From the login answer. @example "c2VjcmV0LW1mYS10b2tlbi1leGFtcGxl..." */
  @IsString()
  @MaxLength(1024)
  mfa_token: string;

  /** The 6-digit code of the authenticator app. @example "123456" */
  @IsOptional()
  @IsString()
  @MaxLength(64)
  code?: string;

  /** One of the recovery codes (case, spaces and dashes do not matter). @example "abcde-fgh23" */
  @IsOptional()
  @IsString()
  @MaxLength(64)
  recoveryCode?: string;
}
