import { ApiProperty } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { FactorCodesDto } from '../../mfa/dto/mfa.dto.js';

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

  /**
   * What the second step accepts: the factors the account has (`webauthn`: a passkey,
   * options from `POST /api/auth/mfa/webauthn/options`) and `recovery_code`.
   * @example ["totp","recovery_code"]
   */
  @ApiProperty({ enum: ['totp', 'webauthn', 'recovery_code'], isArray: true })
  methods: ('totp' | 'webauthn' | 'recovery_code')[];
}

/** Exactly one of `password`, `code`, `recoveryCode` or `webauthn`. */
export class ReauthenticateDto extends FactorCodesDto {
  /** The current password. @example "correct horse battery staple" */
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  password?: string;
}

/**
 * The second step of a login: the `mfa_token` and exactly one of `code`, `recoveryCode` or
 * `webauthn`.
 */
export class MfaVerifyDto extends FactorCodesDto {
  /** From the login answer. @example "c2VjcmV0LW1mYS10b2tlbi1leGFtcGxl..." */
  @IsString()
  @MaxLength(1024)
  mfa_token: string;
}
