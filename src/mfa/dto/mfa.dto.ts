import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsObject, IsOptional, IsString, MaxLength, ValidateNested } from 'class-validator';
import { AssertionCredentialDto } from './passkey.dto.js';

export class StartTotpDto {
  /** The current password. @example "correct horse battery staple" */
  @IsString()
  @MaxLength(1024)
  password: string;
}

export class TotpEnrolmentDto {
  /**
   * The shared secret in base32 (RFC 4648), for typing into an authenticator app by hand.
   * Shown only now. @example "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
   */
  secret: string;

  /**
   * The `otpauth://` URL the QR code holds (SHA1, 6 digits, 30 s).
   * @example "otpauth://totp/authkit:ada%40example.com?issuer=authkit&secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&algorithm=SHA1&digits=6&period=30"
   */
  otpauthUrl: string;

  /** The QR code of `otpauthUrl`, as an SVG document. @example "<svg xmlns=\"http://www.w3.org/2000/svg\" ...</svg>" */
  qrSvg: string;
}

export class ConfirmTotpDto {
  /** A current code of the authenticator app. @example "123456" */
  @IsString()
  @MaxLength(64)
  code: string;
}

export class RecoveryCodesDto {
  /**
   * Ten single-use codes, shown only now: each signs in once in place of the
   * authenticator's code. @example ["abcde-fgh23","ijklm-nop45"]
   */
  recoveryCodes: string[];
}

/**
 * A second factor: exactly one of `code`, `recoveryCode` or `webauthn` (checked by
 * `exactlyOneFactor`).
 */
export class FactorCodesDto {
  /** A current code of the authenticator app. @example "123456" */
  @IsOptional()
  @IsString()
  @MaxLength(64)
  code?: string;

  /** One of the unused recovery codes (case, spaces and dashes do not matter). @example "abcde-fgh23" */
  @IsOptional()
  @IsString()
  @MaxLength(64)
  recoveryCode?: string;

  /**
   * A passkey's assertion: `startAuthentication()`'s answer to the options of
   * `POST /api/auth/mfa/webauthn/options` (second step of a login) or
   * `POST /api/auth/passkeys/login/options` (elsewhere).
   */
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => AssertionCredentialDto)
  webauthn?: AssertionCredentialDto;
}

/** The password and exactly one of `code` or `recoveryCode`. */
export class FactorProofDto extends FactorCodesDto {
  /** The current password. @example "correct horse battery staple" */
  @IsString()
  @MaxLength(1024)
  password: string;
}

export class MfaStatusDto {
  /** The second factors the user has. @example ["totp","webauthn"] */
  @ApiProperty({ enum: ['totp', 'webauthn'], isArray: true })
  methods: ('totp' | 'webauthn')[];

  /** Unused recovery codes left. @example 10 */
  recoveryCodesRemaining: number;

  /** How many passkeys the user has registered. @example 1 */
  passkeys: number;
}
