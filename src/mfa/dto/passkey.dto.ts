import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsArray,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  MinLength,
  ValidateNested,
  ArrayMaxSize,
} from 'class-validator';

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const BASE64URL_MESSAGE = '$property must be base64url text';
/** Generous bounds for what authenticators send (an attestation with a certificate chain). */
const MAX_BINARY = 16_384;

/** `response` of a registration (`RegistrationResponseJSON.response`, WebAuthn L3). */
export class AttestationResponseDto {
  /** @example "eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIiwi..." */
  @IsString()
  @MaxLength(MAX_BINARY)
  @Matches(BASE64URL, { message: BASE64URL_MESSAGE })
  clientDataJSON: string;

  /** @example "o2NmbXRkbm9uZWdhdHRTdG10oGhhdXRoRGF0YVjF..." */
  @IsString()
  @MaxLength(MAX_BINARY)
  @Matches(BASE64URL, { message: BASE64URL_MESSAGE })
  attestationObject: string;

  /** @example "SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2NFAAAAAA" */
  @IsOptional()
  @IsString()
  @MaxLength(MAX_BINARY)
  @Matches(BASE64URL, { message: BASE64URL_MESSAGE })
  authenticatorData?: string;

  /** @example ["internal","hybrid"] */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(16)
  @IsString({ each: true })
  @MaxLength(32, { each: true })
  transports?: string[];

  /** The COSE algorithm of the key. @example -7 */
  @IsOptional()
  @IsInt()
  publicKeyAlgorithm?: number;

  /** @example "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE" */
  @IsOptional()
  @IsString()
  @MaxLength(MAX_BINARY)
  @Matches(BASE64URL, { message: BASE64URL_MESSAGE })
  publicKey?: string;
}

/** `response` of an assertion (`AuthenticationResponseJSON.response`). */
export class AssertionResponseDto {
  /** @example "eyJ0eXBlIjoid2ViYXV0aG4uZ2V0IiwiY2hhbGxlbmdlIjoi..." */
  @IsString()
  @MaxLength(MAX_BINARY)
  @Matches(BASE64URL, { message: BASE64URL_MESSAGE })
  clientDataJSON: string;

  /** @example "SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MFAAAAAQ" */
  @IsString()
  @MaxLength(MAX_BINARY)
  @Matches(BASE64URL, { message: BASE64URL_MESSAGE })
  authenticatorData: string;

  /** @example "MEUCIQDTGOxqmWe1ZyV6ob5eL1G0yJYx3z0sXw" */
  @IsString()
  @MaxLength(MAX_BINARY)
  @Matches(BASE64URL, { message: BASE64URL_MESSAGE })
  signature: string;

  /**
   * The user handle of a discoverable credential (base64url of the user id).
   * @example "MGI1YzhhM2UtMmY0ZC00YzFhLTlhNzctMWYxZDNiMmM0ZTVm"
   */
  @IsOptional()
  @IsString()
  @MaxLength(128)
  @Matches(BASE64URL, { message: BASE64URL_MESSAGE })
  userHandle?: string;
}

/** What `navigator.credentials` answered, as `@simplewebauthn/browser` serializes it. */
class PublicKeyCredentialDto {
  /** The credential id (base64url). @example "hS1t0Yy0cmVkZW50aWFsLWlk" */
  @IsString()
  @MinLength(1)
  @MaxLength(1024)
  @Matches(BASE64URL, { message: BASE64URL_MESSAGE })
  id: string;

  /** The same as `id`. @example "hS1t0Yy0cmVkZW50aWFsLWlk" */
  @IsString()
  @MinLength(1)
  @MaxLength(1024)
  @Matches(BASE64URL, { message: BASE64URL_MESSAGE })
  rawId: string;

  @ApiProperty({ enum: ['public-key'] })
  @IsIn(['public-key'])
  type: 'public-key';

  @ApiPropertyOptional({ enum: ['platform', 'cross-platform'] })
  @IsOptional()
  @IsIn(['platform', 'cross-platform'])
  authenticatorAttachment?: 'platform' | 'cross-platform';

  @ApiProperty({ type: 'object', additionalProperties: true, example: {} })
  @IsObject()
  clientExtensionResults: Record<string, unknown>;
}

export class RegistrationCredentialDto extends PublicKeyCredentialDto {
  // Required: class-validator skips @ValidateNested() for a missing value.
  @IsObject()
  @ValidateNested()
  @Type(() => AttestationResponseDto)
  response: AttestationResponseDto;
}

export class AssertionCredentialDto extends PublicKeyCredentialDto {
  @IsObject()
  @ValidateNested()
  @Type(() => AssertionResponseDto)
  response: AssertionResponseDto;
}

export class RegisterPasskeyDto {
  /** `startRegistration()`'s answer to the options of `POST /api/auth/passkeys/registration/options`. */
  @IsObject()
  @ValidateNested()
  @Type(() => RegistrationCredentialDto)
  credential: RegistrationCredentialDto;

  /** A name to tell it from the others; default "Passkey". @example "Work laptop" */
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(64)
  // A literal (the OpenAPI plugin copies it as `pattern`), without `\p{Cc}` and the `u` flag
  // so that JSON Schema validators read it the same; control characters are the point.
  // eslint-disable-next-line no-control-regex
  @Matches(/^[^\x00-\x1f\x7f]*\S[^\x00-\x1f\x7f]*$/, {
    message: 'name must be text without control characters',
  })
  name?: string;
}

export class RenamePasskeyDto {
  /** @example "Phone" */
  @IsString()
  @MinLength(1)
  @MaxLength(64)
  // A literal (the OpenAPI plugin copies it as `pattern`), without `\p{Cc}` and the `u` flag
  // so that JSON Schema validators read it the same; control characters are the point.
  // eslint-disable-next-line no-control-regex
  @Matches(/^[^\x00-\x1f\x7f]*\S[^\x00-\x1f\x7f]*$/, {
    message: 'name must be text without control characters',
  })
  name: string;
}

export class PasskeyLoginDto {
  /** `startAuthentication()`'s answer to the options of `POST /api/auth/passkeys/login/options`. */
  @IsObject()
  @ValidateNested()
  @Type(() => AssertionCredentialDto)
  credential: AssertionCredentialDto;
}

export class MfaWebauthnOptionsDto {
  /** From the login answer. @example "c2VjcmV0LW1mYS10b2tlbi1leGFtcGxl..." */
  @IsString()
  @MaxLength(1024)
  mfa_token: string;
}

/** A registered passkey. */
export class PasskeyDto {
  /** @example "0b5c8a3e-2f4d-4c1a-9a77-1f1d3b2c4e5f" */
  id: string;

  /** @example "Work laptop" */
  name: string;

  /** @example "2026-12-06T20:15:00.000Z" */
  createdAt: Date;

  /** When it last signed in or confirmed a step; null if never. @example "2026-12-06T21:02:13.000Z" */
  lastUsedAt: Date | null;

  /** `multiDevice`: synced by a passkey provider; `singleDevice`: bound to one authenticator. */
  @ApiProperty({ enum: ['singleDevice', 'multiDevice'] })
  deviceType: 'singleDevice' | 'multiDevice';

  /** Whether the provider reports it backed up (synced). @example true */
  backedUp: boolean;

  /** How the browser can reach the authenticator. @example ["internal","hybrid"] */
  transports: string[];
}

export class PasskeyRegisteredDto {
  passkey: PasskeyDto;

  /**
   * Ten single-use recovery codes, only when this passkey is the account's first second
   * factor (shown only now). @example ["abcde-fgh23","ijklm-nop45"]
   */
  recoveryCodes?: string[];
}

/** `PublicKeyCredentialCreationOptionsJSON` (WebAuthn L3), for `startRegistration()`. */
export class RegistrationOptionsDto {
  /** @example "5u3X2Zq0Wk1D6m2wM1lYkA" */
  challenge: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { id: 'localhost', name: 'authkit' },
  })
  rp: Record<string, unknown>;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { id: 'MGI1YzhhM2U', name: 'ada@example.com', displayName: 'Ada Lovelace' },
  })
  user: Record<string, unknown>;

  @ApiProperty({
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    example: [{ alg: -7, type: 'public-key' }],
  })
  pubKeyCredParams: Record<string, unknown>[];

  /** Milliseconds. @example 120000 */
  timeout?: number;

  @ApiPropertyOptional({
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    example: [{ id: 'hS1t0Yy0cmVkZW50aWFsLWlk', type: 'public-key', transports: ['internal'] }],
  })
  excludeCredentials?: Record<string, unknown>[];

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    example: { residentKey: 'required', requireResidentKey: true, userVerification: 'preferred' },
  })
  authenticatorSelection?: Record<string, unknown>;

  /** @example "none" */
  attestation?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    example: { credProps: true },
  })
  extensions?: Record<string, unknown>;
}

/** `PublicKeyCredentialRequestOptionsJSON` (WebAuthn L3), for `startAuthentication()`. */
export class AuthenticationOptionsDto {
  /** @example "5u3X2Zq0Wk1D6m2wM1lYkA" */
  challenge: string;

  /** Milliseconds. @example 120000 */
  timeout?: number;

  /** @example "localhost" */
  rpId?: string;

  @ApiPropertyOptional({
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    example: [{ id: 'hS1t0Yy0cmVkZW50aWFsLWlk', type: 'public-key', transports: ['internal'] }],
  })
  allowCredentials?: Record<string, unknown>[];

  /** @example "required" */
  userVerification?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, example: {} })
  extensions?: Record<string, unknown>;
}
