import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Req,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { CurrentUser } from '../common/decorators/current-user.decorator.js';
import { OptionalAuth, Public } from '../common/decorators/public.decorator.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { ApiProblems } from '../common/http/api-problems.decorator.js';
import { ApiUuidParam } from '../common/http/api-uuid-param.decorator.js';
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
import { clientMeta } from './client-meta.js';
import type { Principal } from './principal.js';

@ApiTags('auth')
@Controller('api/auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly sessions: SessionsService,
  ) {}

  /** Creates an account (role `USER`, email not yet verified). */
  @Public()
  @Post('register')
  @ApiOperation({ operationId: 'register', summary: 'Register a new account' })
  @ApiProblems(
    ErrorCode.VALIDATION_FAILED,
    ErrorCode.WEAK_PASSWORD,
    ErrorCode.EMAIL_TAKEN,
    ErrorCode.USERNAME_TAKEN,
    ErrorCode.RATE_LIMITED,
  )
  async register(@Body() dto: RegisterDto): Promise<RegisteredDto> {
    return { user: UserDto.from(await this.auth.register(dto)) };
  }

  /**
   * Logs in with `password` and exactly one of `email` or `username`. Unknown accounts and
   * wrong passwords get the same 401; a disabled or unverified account is only revealed
   * after a correct password.
   */
  @Public()
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
  login(@Body() dto: LoginDto, @Req() request: FastifyRequest): Promise<TokenResponseDto> {
    return this.auth.login(dto, clientMeta(request));
  }

  /**
   * Trades a refresh token for a new access token and a new refresh token (rotation). A
   * rotated token presented again within the grace window (`REFRESH_REUSE_GRACE`, 10 s)
   * gets the same successor; after it, the whole session is revoked.
   */
  @Public()
  @Post('refresh')
  @HttpCode(200)
  @ApiOperation({ operationId: 'refresh', summary: 'Rotate the refresh token' })
  @ApiProblems(ErrorCode.VALIDATION_FAILED, ErrorCode.INVALID_REFRESH_TOKEN, ErrorCode.RATE_LIMITED)
  refresh(@Body() dto: RefreshDto): Promise<TokenResponseDto> {
    return this.auth.refresh(dto.refresh_token);
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
  ): Promise<void> {
    await this.auth.logout(principal, dto.refresh_token, dto.scope);
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
  ): Promise<void> {
    await this.auth.changePassword(principal, dto);
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
  @ApiUuidParam('id', 'The session id (from `GET /api/auth/sessions`).')
  @ApiProblems(ErrorCode.VALIDATION_FAILED, ErrorCode.UNAUTHORIZED, ErrorCode.NOT_FOUND)
  async revokeSession(
    @Param('id', new ParseUUIDPipe()) id: string,
    @CurrentUser() principal: Principal,
  ): Promise<void> {
    await this.sessions.revokeOwned(principal.user.id, id);
  }
}
