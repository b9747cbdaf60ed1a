import { Body, Controller, Delete, Get, HttpCode, Patch, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import type { Principal } from '../../common/auth/principal.js';
import { CurrentUser } from '../../common/decorators/current-user.decorator.js';
import { AllowedBeforeEnrolment, Public } from '../../common/decorators/public.decorator.js';
import { RequiresRecentAuth } from '../../common/decorators/recent-auth.decorator.js';
import { ErrorCode } from '../../common/errors/error-code.js';
import { ApiProblems } from '../../common/http/api-problems.decorator.js';
import { ApiUuidParam, UuidParam } from '../../common/http/api-uuid-param.decorator.js';
import { Client, type ClientInfo } from '../../common/http/client-info.js';
import { RateLimit } from '../../rate-limit/rate-limit.decorator.js';
import type { User } from '../../users/entities/user.entity.js';
import {
  AuthenticationOptionsDto,
  PasskeyDto,
  PasskeyRegisteredDto,
  RegisterPasskeyDto,
  RegistrationOptionsDto,
  RenamePasskeyDto,
} from '../dto/passkey.dto.js';
import { MfaService } from '../mfa.service.js';
import type { PasskeyRecord } from './passkeys.repository.js';

function passkeyDto(passkey: PasskeyRecord): PasskeyDto {
  return {
    id: passkey.id,
    name: passkey.name,
    createdAt: passkey.createdAt,
    lastUsedAt: passkey.lastUsedAt,
    deviceType: passkey.deviceType,
    backedUp: passkey.backedUp,
    transports: passkey.transports,
  };
}

/**
 * The caller's passkeys (WebAuthn), and the options of a username-less sign-in. A passkey
 * is a second factor: the first one an account adds turns two-step sign-in on. Adding and
 * removing one needs a recent authentication (`REAUTH_MAX_AGE`); these routes are rate
 * limited like the other second-factor routes (`RATE_LIMIT_MFA_MANAGE_*`).
 */
@ApiTags('passkeys')
@Controller('api/auth/passkeys')
export class PasskeysController {
  constructor(private readonly mfa: MfaService) {}

  /**
   * The options for `startRegistration()` of `@simplewebauthn/browser` (or
   * `navigator.credentials.create()`): a discoverable credential (`residentKey:
   * required`), this server's relying party (`WEBAUTHN_RP_ID`), the caller's passkeys
   * excluded. Its challenge is stored, answers once, within 5 minutes.
   */
  @RateLimit('mfaManage')
  @AllowedBeforeEnrolment()
  @RequiresRecentAuth()
  @Post('registration/options')
  @HttpCode(200)
  @ApiBearerAuth()
  @ApiOperation({ operationId: 'passkeyRegistrationOptions', summary: 'Start adding a passkey' })
  @ApiProblems(
    ErrorCode.VALIDATION_FAILED,
    ErrorCode.UNAUTHORIZED,
    ErrorCode.REAUTH_REQUIRED,
    ErrorCode.RATE_LIMITED,
  )
  registrationOptions(@CurrentUser() caller: Principal<User>): Promise<RegistrationOptionsDto> {
    return this.mfa.registrationOptions(caller.user) as unknown as Promise<RegistrationOptionsDto>;
  }

  /**
   * Adds the passkey `startRegistration()` made for the options above. The account's first
   * second factor turns two-step sign-in on and answers ten recovery codes (shown only
   * now); the user is emailed. `400 PASSKEY_REJECTED`: the challenge is unknown, used or
   * expired, or the response is not for this site; `409 PASSKEY_EXISTS`: registered already.
   */
  @RateLimit('mfaManage')
  @AllowedBeforeEnrolment()
  @RequiresRecentAuth()
  @Post('registration')
  @HttpCode(201)
  @ApiBearerAuth()
  @ApiOperation({ operationId: 'registerPasskey', summary: 'Add a passkey' })
  @ApiProblems(
    ErrorCode.VALIDATION_FAILED,
    ErrorCode.UNAUTHORIZED,
    ErrorCode.PASSKEY_REJECTED,
    ErrorCode.PASSKEY_EXISTS,
    ErrorCode.REAUTH_REQUIRED,
    ErrorCode.RATE_LIMITED,
  )
  async register(
    @CurrentUser() caller: Principal<User>,
    @Body() dto: RegisterPasskeyDto,
    @Client() client: ClientInfo,
  ): Promise<PasskeyRegisteredDto> {
    const credential = dto.credential as unknown as RegistrationResponseJSON;
    const added = await this.mfa.addPasskey(caller.user, credential, dto.name, client);
    return {
      passkey: passkeyDto(added.passkey),
      ...(added.recoveryCodes ? { recoveryCodes: added.recoveryCodes } : {}),
    };
  }

  /** The caller's passkeys, newest first. */
  @AllowedBeforeEnrolment()
  @Get()
  @ApiBearerAuth()
  @ApiOperation({ operationId: 'listPasskeys', summary: 'List my passkeys' })
  @ApiProblems(ErrorCode.UNAUTHORIZED)
  async list(@CurrentUser() caller: Principal<User>): Promise<PasskeyDto[]> {
    return (await this.mfa.listPasskeys(caller.user.id)).map(passkeyDto);
  }

  /** Renames one of the caller's passkeys. */
  @RateLimit('mfaManage')
  @Patch(':id')
  @ApiBearerAuth()
  @ApiOperation({ operationId: 'renamePasskey', summary: 'Rename a passkey' })
  @ApiUuidParam('id', 'The passkey id.')
  @ApiProblems(
    ErrorCode.VALIDATION_FAILED,
    ErrorCode.UNAUTHORIZED,
    ErrorCode.NOT_FOUND,
    ErrorCode.RATE_LIMITED,
  )
  async rename(
    @CurrentUser() caller: Principal<User>,
    @UuidParam('id') id: string,
    @Body() dto: RenamePasskeyDto,
    @Client() client: ClientInfo,
  ): Promise<PasskeyDto> {
    return passkeyDto(await this.mfa.renamePasskey(caller.user, id, dto.name, client));
  }

  /**
   * Removes one of the caller's passkeys; the user is emailed. Removing the last second
   * factor turns two-step sign-in off (the recovery codes go too).
   */
  @RateLimit('mfaManage')
  @RequiresRecentAuth()
  @Delete(':id')
  @HttpCode(204)
  @ApiBearerAuth()
  @ApiOperation({ operationId: 'removePasskey', summary: 'Remove a passkey' })
  @ApiUuidParam('id', 'The passkey id.')
  @ApiProblems(
    ErrorCode.VALIDATION_FAILED,
    ErrorCode.UNAUTHORIZED,
    ErrorCode.NOT_FOUND,
    ErrorCode.REAUTH_REQUIRED,
    ErrorCode.RATE_LIMITED,
  )
  async remove(
    @CurrentUser() caller: Principal<User>,
    @UuidParam('id') id: string,
    @Client() client: ClientInfo,
  ): Promise<void> {
    await this.mfa.removePasskey(caller.user, id, client);
  }

  /**
   * The options for `startAuthentication()` of a sign-in without a username
   * (`POST /api/auth/passkeys/login`) or a step-up with a passkey
   * (`POST /api/auth/reauthenticate`): no `allowCredentials` (the browser offers the
   * discoverable passkeys it has for this site), user verification required. Its challenge
   * is stored, answers once, within 5 minutes.
   */
  @Public()
  @RateLimit('passkeyLogin')
  @Post('login/options')
  @HttpCode(200)
  @ApiOperation({ operationId: 'passkeyLoginOptions', summary: 'Start a passkey sign-in' })
  @ApiProblems(ErrorCode.VALIDATION_FAILED, ErrorCode.RATE_LIMITED, ErrorCode.SERVICE_UNAVAILABLE)
  loginOptions(): Promise<AuthenticationOptionsDto> {
    return this.mfa.discoverableOptions() as unknown as Promise<AuthenticationOptionsDto>;
  }
}
