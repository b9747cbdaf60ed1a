import { Body, Controller, Delete, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCookieAuth,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CurrentUser } from '../common/decorators/current-user.decorator.js';
import {
  AllowedBeforeEnrolment,
  OptionalAuth,
  Public,
} from '../common/decorators/public.decorator.js';
import { RequiresRecentAuth } from '../common/decorators/recent-auth.decorator.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { ApiProblems } from '../common/http/api-problems.decorator.js';
import { ApiUuidParam, UuidParam } from '../common/http/api-uuid-param.decorator.js';
import { Client, type ClientInfo } from '../common/http/client-info.js';
import { RateLimit } from '../rate-limit/rate-limit.decorator.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { UserDto } from '../users/dto/user.dto.js';
import { AuthService } from './auth.service.js';
import { ChangePasswordDto } from './dto/change-password.dto.js';
import { LoginDto } from './dto/login.dto.js';
import { MeDto } from './dto/me.dto.js';
import { MfaService } from '../mfa/mfa.service.js';
import { MfaRequiredDto, MfaVerifyDto, ReauthenticateDto } from './dto/mfa.dto.js';
import { exactlyOneFactor } from '../mfa/dto/factor-proof.js';
import { LogoutDto } from './dto/logout.dto.js';
import { RefreshDto } from './dto/refresh.dto.js';
import { RegisterDto } from './dto/register.dto.js';
import { SessionDto } from './dto/session.dto.js';
import { RegisteredDto, TokenResponseDto } from './dto/token-response.dto.js';
import type { Principal } from '../common/auth/principal.js';
import type { User } from '../users/entities/user.entity.js';
import { REFRESH_COOKIE, RefreshTransport } from './refresh-transport.js';
import { PasskeyLoginDto } from '../mfa/dto/passkey.dto.js';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';

const refs = (model: new () => unknown) => ({ $ref: getSchemaPath(model) });

@ApiTags('auth')
@Controller('api/auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly sessions: SessionsService,
    private readonly transport: RefreshTransport,
    private readonly mfa: MfaService,
  ) {}

  /**
   * Creates an account (role `USER`, email not yet verified). Rate limited per IP
   * (`RATE_LIMIT_REGISTER_IP`, 30 per 5 minutes) and per email
   * (`RATE_LIMIT_REGISTER_ACCOUNT`, 5 per hour).
   */
  @Public()
  @RateLimit('register')
  @Post('register')
  @ApiOperation({ operationId: 'register', summary: 'Register a new account' })
  @ApiProblems(
    ErrorCode.VALIDATION_FAILED,
    ErrorCode.WEAK_PASSWORD,
    ErrorCode.EMAIL_TAKEN,
    ErrorCode.USERNAME_TAKEN,
    ErrorCode.RATE_LIMITED,
    ErrorCode.SERVICE_UNAVAILABLE,
  )
  async register(@Body() dto: RegisterDto, @Client() client: ClientInfo): Promise<RegisteredDto> {
    return { user: UserDto.from(await this.auth.register(dto, client)) };
  }

  /**
   * Logs in with `password` and exactly one of `email` or `username`. Unknown accounts and
   * wrong passwords get the same 401; a disabled or unverified account is only revealed
   * after a correct password. After `LOGIN_BACKOFF_THRESHOLD` (5) consecutive failures for
   * an email or username, whether or not it has an account, its attempts are refused with
   * 429 and `Retry-After` for `LOGIN_BACKOFF_DELAY` (1 minute), doubling with each further
   * failure up to `LOGIN_BACKOFF_MAX_DELAY` (15 minutes); a correct password or a password
   * reset clears it. Rate limited per IP (`RATE_LIMIT_LOGIN_IP`, 30 per 5 minutes) and per
   * email or username (`RATE_LIMIT_LOGIN_ACCOUNT`, 10 per 5 minutes).
   *
   * Cookie transport (`REFRESH_TOKEN_TRANSPORT=cookie`): the body has no `refresh_token`;
   * the response sets the `refresh_token` cookie (`HttpOnly; SameSite=Strict;
   * Path=/api/auth`, `Secure` unless `COOKIE_SECURE=false`, `Max-Age` = the session's idle
   * expiry) and the readable `XSRF-TOKEN` cookie (`SameSite=Strict; Path=/`) whose value
   * refresh and logout must echo in `X-XSRF-TOKEN`.
   */
  @Public()
  @RateLimit('login')
  @Post('login')
  @HttpCode(200)
  @ApiOperation({ operationId: 'login', summary: 'Log in and open a session' })
  @ApiProblems(
    ErrorCode.VALIDATION_FAILED,
    ErrorCode.INVALID_CREDENTIALS,
    ErrorCode.ACCOUNT_DISABLED,
    ErrorCode.EMAIL_NOT_VERIFIED,
    ErrorCode.RATE_LIMITED,
    ErrorCode.SERVICE_UNAVAILABLE,
  )
  @ApiExtraModels(TokenResponseDto, MfaRequiredDto)
  @ApiOkResponse({
    description:
      'The tokens, or, for an account with a second factor, `mfa_required` and the `mfa_token` of the second step (`POST /api/auth/mfa/verify`).',
    schema: { oneOf: [refs(TokenResponseDto), refs(MfaRequiredDto)] },
  })
  async login(
    @Body() dto: LoginDto,
    @Client() client: ClientInfo,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<TokenResponseDto | MfaRequiredDto> {
    const result = await this.auth.login(dto, client);
    if ('mfa_required' in result) return result;
    return this.transport.deliver(reply, result);
  }

  /**
   * The second step of a login for an account with a second factor: the `mfa_token` of
   * the login answer and exactly one of `code` (the authenticator app's 6-digit code; a
   * code works once, within 30 s either side of its step), `recoveryCode` (single-use;
   * its use is audited and emailed) or `webauthn` (a passkey's assertion for the options of
   * `POST /api/auth/mfa/webauthn/options`). Answers like login: the tokens, and in cookie
   * transport the cookies. A wrong code is `400 INVALID_CODE` (a passkey that does not
   * verify `401 INVALID_PASSKEY`); the fifth ends the
   * `mfa_token` (`400 TOO_MANY_ATTEMPTS`, then `401 INVALID_MFA_TOKEN`, as for an expired
   * or used one). Wrong codes count in the account's login backoff like wrong passwords.
   * Rate limited per IP (`RATE_LIMIT_MFA_VERIFY_IP`, 30 per 5 minutes) and per account
   * (`RATE_LIMIT_MFA_VERIFY_ACCOUNT`, 10 per 5 minutes, across its `mfa_token`s).
   */
  @Public()
  @RateLimit('mfaVerify')
  @Post('mfa/verify')
  @HttpCode(200)
  @ApiOperation({ operationId: 'verifyMfa', summary: 'Complete a login with a second factor' })
  @ApiProblems(
    ErrorCode.VALIDATION_FAILED,
    ErrorCode.INVALID_MFA_TOKEN,
    ErrorCode.INVALID_PASSKEY,
    ErrorCode.INVALID_CODE,
    ErrorCode.TOO_MANY_ATTEMPTS,
    ErrorCode.RATE_LIMITED,
    ErrorCode.SERVICE_UNAVAILABLE,
  )
  async verifyMfa(
    @Body() dto: MfaVerifyDto,
    @Client() client: ClientInfo,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<TokenResponseDto> {
    const proof = exactlyOneFactor(dto);
    return this.transport.deliver(reply, await this.auth.verifyMfa(dto.mfa_token, proof, client));
  }

  /**
   * Signs in with a passkey and no password or username: `startAuthentication()`'s answer
   * to the options of `POST /api/auth/passkeys/login/options` (a discoverable credential,
   * user verification required). Answers like login (tokens, cookies in cookie
   * transport), with `amr` `["hwk","user","mfa"]` and `aal` 2. A passkey that is unknown,
   * does not verify, was made for a challenge not handed out (or used or expired), or whose
   * signature counter did not move forward (a cloned authenticator) is
   * `401 INVALID_PASSKEY`; it counts in the account's login backoff. Rate limited per IP
   * (`RATE_LIMIT_PASSKEY_LOGIN_IP`, 60 per 5 minutes, shared with the options) and per
   * account (`RATE_LIMIT_PASSKEY_LOGIN_ACCOUNT`, 10 per 5 minutes, by the user handle).
   */
  @Public()
  @RateLimit('passkeyLogin')
  @Post('passkeys/login')
  @HttpCode(200)
  @ApiOperation({ operationId: 'loginWithPasskey', summary: 'Sign in with a passkey' })
  @ApiProblems(
    ErrorCode.VALIDATION_FAILED,
    ErrorCode.INVALID_PASSKEY,
    ErrorCode.ACCOUNT_DISABLED,
    ErrorCode.EMAIL_NOT_VERIFIED,
    ErrorCode.RATE_LIMITED,
    ErrorCode.SERVICE_UNAVAILABLE,
  )
  async loginWithPasskey(
    @Body() dto: PasskeyLoginDto,
    @Client() client: ClientInfo,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<TokenResponseDto> {
    const credential = dto.credential as unknown as AuthenticationResponseJSON;
    return this.transport.deliver(reply, await this.auth.loginWithPasskey(credential, client));
  }

  /**
   * Trades a refresh token for a new access token and a new refresh token (rotation). A
   * rotated token presented again within the grace window (`REFRESH_REUSE_GRACE`, 10 s)
   * gets the same successor; after it, the whole session is revoked. Rate limited per IP
   * (`RATE_LIMIT_REFRESH_IP`, 150 per 5 minutes).
   *
   * Body transport: send `refresh_token` in the body. Cookie transport
   * (`REFRESH_TOKEN_TRANSPORT=cookie`): the browser sends the `refresh_token` cookie by
   * itself and the request must carry the `XSRF-TOKEN` cookie's value in the `X-XSRF-TOKEN`
   * header (Angular's `HttpClient` does this), else `403 FORBIDDEN`; the new refresh token
   * replaces the cookie (a new `XSRF-TOKEN` comes with it) and is absent from the body.
   * Without a cookie, a `refresh_token` in the body is still accepted, so sessions opened
   * before a switch to cookie transport move to the cookie.
   */
  @Public()
  @RateLimit('refresh')
  @Post('refresh')
  @HttpCode(200)
  @ApiCookieAuth(REFRESH_COOKIE)
  @ApiOperation({ operationId: 'refresh', summary: 'Rotate the refresh token' })
  @ApiProblems(
    ErrorCode.VALIDATION_FAILED,
    ErrorCode.INVALID_REFRESH_TOKEN,
    ErrorCode.FORBIDDEN,
    ErrorCode.RATE_LIMITED,
  )
  async refresh(
    @Body() dto: RefreshDto,
    @Client() client: ClientInfo,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<TokenResponseDto> {
    const token = this.transport.presentedToken(request, dto.refresh_token);
    return this.transport.deliver(reply, await this.auth.refresh(token, client));
  }

  /**
   * Ends this session (`local`, the default), every other session (`others`) or all of
   * them (`global`). Identifies the session by the access token, or by the refresh token
   * when no valid access token is sent: in the body (body transport), or in the
   * `refresh_token` cookie (cookie transport), which then needs the `X-XSRF-TOKEN` header
   * like refresh (`403 FORBIDDEN` without it). In cookie transport, `local` and `global`
   * also expire the `refresh_token` and `XSRF-TOKEN` cookies; `others` keeps them, since
   * this session goes on.
   */
  @OptionalAuth()
  @AllowedBeforeEnrolment()
  @Post('logout')
  @HttpCode(204)
  @ApiBearerAuth()
  @ApiCookieAuth(REFRESH_COOKIE)
  @ApiOperation({ operationId: 'logout', summary: 'Log out' })
  @ApiProblems(ErrorCode.VALIDATION_FAILED, ErrorCode.UNAUTHORIZED, ErrorCode.FORBIDDEN)
  async logout(
    @Body() dto: LogoutDto,
    @CurrentUser() principal: Principal<User> | undefined,
    @Client() client: ClientInfo,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    // With a valid access token the cookie is not what authenticates the request.
    const token = principal ? undefined : this.transport.presentedToken(request, dto.refresh_token);
    await this.auth.logout(principal, token, dto.scope, client);
    if (dto.scope !== 'others') this.transport.clear(reply);
  }

  /** The caller's account, with the second factors they have (`mfa`). */
  @AllowedBeforeEnrolment()
  @Get('me')
  @ApiBearerAuth()
  @ApiOperation({ operationId: 'getMe', summary: 'The current user' })
  @ApiProblems(ErrorCode.UNAUTHORIZED)
  async me(@CurrentUser() principal: Principal<User>): Promise<MeDto> {
    const { user } = principal;
    // Without a factor there is nothing to read: /me stays one query (the guard's).
    const mfa = user.mfaEnabled
      ? await this.mfa.status(user.id)
      : { methods: [], recoveryCodesRemaining: 0, passkeys: 0 };
    return MeDto.withMfa(user, mfa);
  }

  /**
   * Step-up: proves again who the caller is, with exactly one of `password`, `code` (the
   * authenticator app's), `recoveryCode` or `webauthn` (a passkey's assertion for the
   * options of `POST /api/auth/passkeys/login/options`), so that this session may for `REAUTH_MAX_AGE`
   * (10 minutes) make the writes that answer `403 REAUTH_REQUIRED` otherwise: changing
   * the password or the email, deleting the account, removing a second factor, new
   * recovery codes, and every admin write. Other sessions are not renewed. Counted by the
   * account's login backoff; rate limited per IP (`RATE_LIMIT_REAUTHENTICATE_IP`, 30 per
   * 15 minutes) and per user (`RATE_LIMIT_REAUTHENTICATE_ACCOUNT`, 10 per 15 minutes).
   */
  @RateLimit('reauthenticate')
  @Post('reauthenticate')
  @HttpCode(204)
  @ApiBearerAuth()
  @ApiOperation({ operationId: 'reauthenticate', summary: 'Confirm who you are again (step-up)' })
  @ApiProblems(
    ErrorCode.VALIDATION_FAILED,
    ErrorCode.UNAUTHORIZED,
    ErrorCode.INVALID_CURRENT_PASSWORD,
    ErrorCode.INVALID_CODE,
    ErrorCode.RATE_LIMITED,
  )
  async reauthenticate(
    @CurrentUser() principal: Principal<User>,
    @Body() dto: ReauthenticateDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    await this.auth.reauthenticate(principal, dto, client);
  }

  /**
   * Changes the password after checking the current one; every other session is revoked.
   * The check of `currentPassword` is under the login backoff of the account's email: a
   * wrong one counts as a failed login by that email, and after `LOGIN_BACKOFF_THRESHOLD`
   * (5) consecutive failures (logins and current-password checks together) the check is
   * refused with 429 and `Retry-After`, even with the right password, until the lock ends;
   * a right one clears the counter, as a successful login does. Rate limited per IP
   * (`RATE_LIMIT_CHANGE_PASSWORD_IP`, 30 per 15 minutes) and per user
   * (`RATE_LIMIT_CHANGE_PASSWORD_ACCOUNT`, 10 per 15 minutes).
   */
  @RateLimit('changePassword')
  @RequiresRecentAuth()
  @Post('change-password')
  @HttpCode(204)
  @ApiBearerAuth()
  @ApiOperation({
    operationId: 'changePassword',
    summary: 'Change the password',
    description:
      "Checks `currentPassword` under the login backoff of the account's email (a wrong one counts as a failed login by that email; once locked, even the right one gets 429 with `Retry-After` until the lock ends; a right one clears the counter). Rate limited per IP (`RATE_LIMIT_CHANGE_PASSWORD_IP`) and per user (`RATE_LIMIT_CHANGE_PASSWORD_ACCOUNT`).",
  })
  @ApiProblems(
    ErrorCode.VALIDATION_FAILED,
    ErrorCode.INVALID_CURRENT_PASSWORD,
    ErrorCode.PASSWORD_MISMATCH,
    ErrorCode.WEAK_PASSWORD,
    ErrorCode.UNAUTHORIZED,
    ErrorCode.RATE_LIMITED,
    ErrorCode.SERVICE_UNAVAILABLE,
    ErrorCode.REAUTH_REQUIRED,
  )
  async changePassword(
    @Body() dto: ChangePasswordDto,
    @CurrentUser() principal: Principal<User>,
    @Client() client: ClientInfo,
  ): Promise<void> {
    await this.auth.changePassword(principal, dto, client);
  }

  /** The caller's live sessions, most recently used first; `current` marks this one. */
  @Get('sessions')
  @ApiBearerAuth()
  @ApiOperation({ operationId: 'listSessions', summary: 'List my sessions' })
  @ApiProblems(ErrorCode.UNAUTHORIZED)
  async listSessions(@CurrentUser() principal: Principal<User>): Promise<SessionDto[]> {
    const sessions = await this.sessions.list(principal.user.id);
    return sessions.map((session) => SessionDto.from(session, principal.sessionId));
  }

  /** Revokes one of the caller's sessions; its tokens stop working at once. */
  @Delete('sessions/:id')
  @HttpCode(204)
  @ApiBearerAuth()
  @ApiOperation({ operationId: 'revokeSession', summary: 'Revoke one of my sessions' })
  @ApiUuidParam('id', 'The session id (from `GET /api/auth/sessions`).')
  @ApiProblems(ErrorCode.VALIDATION_FAILED, ErrorCode.UNAUTHORIZED, ErrorCode.NOT_FOUND)
  async revokeSession(
    @UuidParam('id') id: string,
    @CurrentUser() principal: Principal<User>,
  ): Promise<void> {
    await this.sessions.revokeOwned(principal.user.id, id);
  }
}
