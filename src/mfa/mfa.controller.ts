import { Body, Controller, Delete, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Principal } from '../common/auth/principal.js';
import { CurrentUser } from '../common/decorators/current-user.decorator.js';
import { AllowedBeforeEnrolment, Public } from '../common/decorators/public.decorator.js';
import { RequiresRecentAuth } from '../common/decorators/recent-auth.decorator.js';
import { Roles } from '../common/decorators/roles.decorator.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { ApiProblems } from '../common/http/api-problems.decorator.js';
import { ApiUuidParam, UuidParam } from '../common/http/api-uuid-param.decorator.js';
import { Client, type ClientInfo } from '../common/http/client-info.js';
import { RateLimit } from '../rate-limit/rate-limit.decorator.js';
import type { User } from '../users/entities/user.entity.js';
import { exactlyOneFactor } from './dto/factor-proof.js';
import {
  ConfirmTotpDto,
  FactorProofDto,
  RecoveryCodesDto,
  StartTotpDto,
  TotpEnrolmentDto,
} from './dto/mfa.dto.js';
import { AuthenticationOptionsDto, MfaWebauthnOptionsDto } from './dto/passkey.dto.js';
import { MfaService } from './mfa.service.js';

/**
 * The caller's second factors. Each route that checks a password or a code is rate
 * limited per IP (`RATE_LIMIT_MFA_MANAGE_IP`, 30 per 15 minutes) and per user
 * (`RATE_LIMIT_MFA_MANAGE_ACCOUNT`, 10 per 15 minutes).
 */
@ApiTags('mfa')
@ApiBearerAuth()
@Controller('api/auth/mfa')
export class MfaController {
  constructor(private readonly mfa: MfaService) {}

  /**
   * Starts TOTP enrolment: a new secret, its `otpauth://` URL and QR code, for an
   * authenticator app. Nothing changes at login until `POST /api/auth/mfa/totp/confirm`
   * proves the app works; calling this again replaces a pending secret.
   */
  @RateLimit('mfaManage')
  @AllowedBeforeEnrolment()
  @Post('totp')
  @HttpCode(200)
  @ApiOperation({ operationId: 'startTotp', summary: 'Start TOTP enrolment' })
  @ApiProblems(
    ErrorCode.VALIDATION_FAILED,
    ErrorCode.UNAUTHORIZED,
    ErrorCode.INVALID_CURRENT_PASSWORD,
    ErrorCode.MFA_ALREADY_ENABLED,
    ErrorCode.RATE_LIMITED,
  )
  startTotp(
    @CurrentUser() caller: Principal<User>,
    @Body() dto: StartTotpDto,
  ): Promise<TotpEnrolmentDto> {
    return this.mfa.startTotp(caller.user, dto.password);
  }

  /**
   * Turns two-step sign-in on with a current code of the pending authenticator, and
   * answers ten recovery codes (shown only now). The user is emailed.
   */
  @RateLimit('mfaManage')
  @AllowedBeforeEnrolment()
  @Post('totp/confirm')
  @HttpCode(200)
  @ApiOperation({ operationId: 'confirmTotp', summary: 'Confirm TOTP enrolment' })
  @ApiProblems(
    ErrorCode.VALIDATION_FAILED,
    ErrorCode.UNAUTHORIZED,
    ErrorCode.INVALID_CODE,
    ErrorCode.MFA_NOT_PENDING,
    ErrorCode.RATE_LIMITED,
  )
  async confirmTotp(
    @CurrentUser() caller: Principal<User>,
    @Body() dto: ConfirmTotpDto,
    @Client() client: ClientInfo,
  ): Promise<RecoveryCodesDto> {
    return { recoveryCodes: await this.mfa.confirmTotp(caller.user, dto.code, client) };
  }

  /**
   * Removes the authenticator app: the password and a current second factor (a code, a
   * recovery code or a passkey's `webauthn` assertion). With no passkey left two-step
   * sign-in is off and the recovery codes are deleted too; the user is emailed.
   */
  @RateLimit('mfaManage')
  @RequiresRecentAuth()
  @Delete('totp')
  @HttpCode(204)
  @ApiOperation({ operationId: 'removeTotp', summary: 'Turn two-step sign-in off' })
  @ApiProblems(
    ErrorCode.VALIDATION_FAILED,
    ErrorCode.UNAUTHORIZED,
    ErrorCode.INVALID_CURRENT_PASSWORD,
    ErrorCode.INVALID_CODE,
    ErrorCode.MFA_NOT_ENABLED,
    ErrorCode.RATE_LIMITED,
    ErrorCode.REAUTH_REQUIRED,
  )
  async removeTotp(
    @CurrentUser() caller: Principal<User>,
    @Body() dto: FactorProofDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    await this.mfa.removeTotp(caller.user, dto.password, exactlyOneFactor(dto), client);
  }

  /**
   * Ten new recovery codes (the previous ones stop working): the password and a current
   * code (or a recovery code).
   */
  @RateLimit('mfaManage')
  @RequiresRecentAuth()
  @Post('recovery-codes')
  @HttpCode(200)
  @ApiOperation({ operationId: 'regenerateRecoveryCodes', summary: 'New recovery codes' })
  @ApiProblems(
    ErrorCode.VALIDATION_FAILED,
    ErrorCode.UNAUTHORIZED,
    ErrorCode.INVALID_CURRENT_PASSWORD,
    ErrorCode.INVALID_CODE,
    ErrorCode.MFA_NOT_ENABLED,
    ErrorCode.RATE_LIMITED,
    ErrorCode.REAUTH_REQUIRED,
  )
  async regenerateRecoveryCodes(
    @CurrentUser() caller: Principal<User>,
    @Body() dto: FactorProofDto,
    @Client() client: ClientInfo,
  ): Promise<RecoveryCodesDto> {
    const recoveryCodes = await this.mfa.regenerateRecoveryCodes(
      caller.user,
      dto.password,
      exactlyOneFactor(dto),
      client,
    );
    return { recoveryCodes };
  }
}

/** The second step of a login with a passkey: its options (the step itself is `mfa/verify`). */
@ApiTags('mfa')
@Controller('api/auth/mfa')
export class MfaWebauthnController {
  constructor(private readonly mfa: MfaService) {}

  /**
   * The options for `startAuthentication()` in the second step of a login: the passkeys
   * of the account the `mfa_token` is for. Send the answer to `POST /api/auth/mfa/verify`
   * as `webauthn`. The `mfa_token` is not used up; `401 INVALID_MFA_TOKEN` when it is
   * not live or its account has no passkey. Rate limited like `mfa/verify`.
   */
  @Public()
  @RateLimit('mfaVerify')
  @Post('webauthn/options')
  @HttpCode(200)
  @ApiOperation({ operationId: 'mfaWebauthnOptions', summary: 'Start the passkey second step' })
  @ApiProblems(
    ErrorCode.VALIDATION_FAILED,
    ErrorCode.INVALID_MFA_TOKEN,
    ErrorCode.RATE_LIMITED,
    ErrorCode.SERVICE_UNAVAILABLE,
  )
  options(@Body() dto: MfaWebauthnOptionsDto): Promise<AuthenticationOptionsDto> {
    return this.mfa.webauthnOptionsFor(
      dto.mfa_token,
    ) as unknown as Promise<AuthenticationOptionsDto>;
  }
}

@ApiTags('users')
@ApiBearerAuth()
@Controller('api/users')
export class MfaAdminController {
  constructor(private readonly mfa: MfaService) {}

  /**
   * Removes the second factors of a locked-out user (role `ADMIN`): the authenticator, the
   * passkeys and the recovery codes are deleted, every session of the user ends, the user is emailed
   * and `mfa.removed` is audited with the admin as actor.
   */
  @Roles('ADMIN')
  @RequiresRecentAuth()
  @Delete(':id/mfa')
  @HttpCode(204)
  @ApiOperation({ operationId: 'resetUserMfa', summary: "Remove a user's second factors" })
  @ApiUuidParam('id', 'The user id.')
  @ApiProblems(
    ErrorCode.VALIDATION_FAILED,
    ErrorCode.UNAUTHORIZED,
    ErrorCode.FORBIDDEN,
    ErrorCode.NOT_FOUND,
    ErrorCode.MFA_NOT_ENABLED,
    ErrorCode.REAUTH_REQUIRED,
  )
  async resetUserMfa(
    @CurrentUser() caller: Principal<User>,
    @UuidParam('id') id: string,
    @Client() client: ClientInfo,
  ): Promise<void> {
    await this.mfa.adminReset(id, caller.user.id, client);
  }
}
