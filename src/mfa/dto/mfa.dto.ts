import { ApiProperty } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';

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

/** A second factor: exactly one of `code` or `recoveryCode` (checked by `exactlyOneFactor`). */
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
}

/** The password and exactly one of `code` or `recoveryCode`. */
export class FactorProofDto extends FactorCodesDto {
  /** The current password. @example "correct horse battery staple" */
  @IsString()
  @MaxLength(1024)
  password: string;
}

export class MfaStatusDto {
  /** The second factors the user has. @example ["totp"] */
  @ApiProperty({ enum: ['totp'], isArray: true })
  methods: 'totp'[];

  /** Unused recovery codes left. @example 10 */
  recoveryCodesRemaining: number;
}
