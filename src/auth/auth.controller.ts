import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentUser } from '../common/decorators/current-user.decorator.js';
import { OptionalAuth, Public } from '../common/decorators/public.decorator.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { ApiProblems } from '../common/http/api-problems.decorator.js';
import { Client, type ClientInfo } from '../common/http/client-info.js';
import { RateLimit } from '../rate-limit/rate-limit.decorator.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { UserDto } from '../users/dto/user.dto.js';
import { AuthService } from './auth.service.js';
import { ChangePasswordDto } from './dto/change-password.dto.js';
import { LoginDto } from './dto/login.dto.js';
import { LogoutDto } from './dto/logout.dto.js';
import { RefreshDto } from './dto/refresh.dto.js';
import { RegisterDto } from './dto/register.dto.js';
import { SessionDto } from './dto/session.dto.js';
import { RegisteredDto, TokenResponseDto } from './dto/token-response.dto.js';
import type { Principal } from './principal.js';

@ApiTags('auth')
@Controller('api/auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly sessions: SessionsService,
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
  )
  login(@Body() dto: LoginDto, @Client() client: ClientInfo): Promise<TokenResponseDto> {
    return this.auth.login(dto, client);
  }

  /**
   * Trades a refresh token for a new access token and a new refresh token (rotation). A
   * rotated token presented again within the grace window (`REFRESH_REUSE_GRACE`, 10 s)
   * gets the same successor; after it, the whole session is revoked. Rate limited per IP
   * (`RATE_LIMIT_REFRESH_IP`, 150 per 5 minutes).
   */
  @Public()
  @RateLimit('refresh')
  @Post('refresh')
  @HttpCode(200)
  @ApiOperation({ operationId: 'refresh', summary: 'Rotate the refresh token' })
  @ApiProblems(ErrorCode.VALIDATION_FAILED, ErrorCode.INVALID_REFRESH_TOKEN, ErrorCode.RATE_LIMITED)
  refresh(@Body() dto: RefreshDto, @Client() client: ClientInfo): Promise<TokenResponseDto> {
    return this.auth.refresh(dto.refresh_token, client);
  }

  /**
   * Ends this session (`local`, the default), every other session (`others`) or all of
   * them (`global`). Identifies the session by the access token, or by the refresh token
   * in the body when no valid access token is sent.
   */
  @OptionalAuth()
  @Post('logout')
  @HttpCode(204)
  @ApiBearerAuth()
  @ApiOperation({ operationId: 'logout', summary: 'Log out' })
  @ApiProblems(ErrorCode.VALIDATION_FAILED, ErrorCode.UNAUTHORIZED)
  async logout(
    @Body() dto: LogoutDto,
    @CurrentUser() principal: Principal | undefined,
    @Client() client: ClientInfo,
  ): Promise<void> {
    await this.auth.logout(principal, dto.refresh_token, dto.scope, client);
  }

  /** The caller's account. */
  @Get('me')
  @ApiBearerAuth()
  @ApiOperation({ operationId: 'getMe', summary: 'The current user' })
  @ApiProblems(ErrorCode.UNAUTHORIZED)
  me(@CurrentUser() principal: Principal): UserDto {
    return UserDto.from(principal.user);
  }

  /** Changes the password after checking the current one; every other session is revoked. */
  @Post('change-password')
  @HttpCode(204)
  @ApiBearerAuth()
  @ApiOperation({ operationId: 'changePassword', summary: 'Change the password' })
  @ApiProblems(
    ErrorCode.VALIDATION_FAILED,
    ErrorCode.INVALID_CURRENT_PASSWORD,
    ErrorCode.PASSWORD_MISMATCH,
    ErrorCode.WEAK_PASSWORD,
    ErrorCode.UNAUTHORIZED,
  )
  async changePassword(
    @Body() dto: ChangePasswordDto,
    @CurrentUser() principal: Principal,
    @Client() client: ClientInfo,
  ): Promise<void> {
    await this.auth.changePassword(principal, dto, client);
  }

  /** The caller's live sessions, most recently used first; `current` marks this one. */
  @Get('sessions')
  @ApiBearerAuth()
  @ApiOperation({ operationId: 'listSessions', summary: 'List my sessions' })
  @ApiProblems(ErrorCode.UNAUTHORIZED)
  async listSessions(@CurrentUser() principal: Principal): Promise<SessionDto[]> {
    const rows = await this.sessions.list(principal.user.id);
    return rows.map((row) => SessionDto.from(row, principal.sessionId));
  }

  /** Revokes one of the caller's sessions; its tokens stop working at once. */
  @Delete('sessions/:id')
  @HttpCode(204)
  @ApiBearerAuth()
  @ApiOperation({ operationId: 'revokeSession', summary: 'Revoke one of my sessions' })
  @ApiProblems(ErrorCode.VALIDATION_FAILED, ErrorCode.UNAUTHORIZED, ErrorCode.NOT_FOUND)
  async revokeSession(
    @Param('id', new ParseUUIDPipe()) id: string,
    @CurrentUser() principal: Principal,
  ): Promise<void> {
    await this.sessions.revokeOwned(principal.user.id, id);
  }
}
