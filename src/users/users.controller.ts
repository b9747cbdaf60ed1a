import { Body, Controller, Delete, Get, HttpCode, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Principal } from '../common/auth/principal.js';
import type { User } from './entities/user.entity.js';
import { CurrentUser } from '../common/decorators/current-user.decorator.js';
import { RequiresRecentAuth } from '../common/decorators/recent-auth.decorator.js';
import { acceptedEmail } from '../common/identifiers.js';
import { Roles } from '../common/decorators/roles.decorator.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { ApiProblems } from '../common/http/api-problems.decorator.js';
import { ApiUuidParam, UuidParam } from '../common/http/api-uuid-param.decorator.js';
import { Client, type ClientInfo } from '../common/http/client-info.js';
import { RateLimit } from '../rate-limit/rate-limit.decorator.js';
import { CreateUserDto } from './dto/create-user.dto.js';
import { DeleteMeDto } from './dto/delete-me.dto.js';
import { ListUsersQueryDto } from './dto/list-users-query.dto.js';
import { UpdateMeDto } from './dto/update-me.dto.js';
import { UpdateUserDto } from './dto/update-user.dto.js';
import { UserPageDto } from './dto/user-page.dto.js';
import { UserDto } from './dto/user.dto.js';
import { UsersService } from './users.service.js';

/** `PATCH /api/users/me` needs a recent authentication only when it changes the email. */
const changesEmail = (body: unknown, caller: Principal): boolean => {
  const email = (body as { email?: unknown } | null | undefined)?.email;
  if (email === undefined) return false;
  // A value the DTO refuses gets its 400 there; the same address is no change.
  const accepted = acceptedEmail(email);
  return accepted === undefined || accepted !== (caller.user as User).email;
};

@ApiTags('users')
@ApiBearerAuth()
@Controller('api/users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  /** The caller's account (the same as `GET /api/auth/me`). */
  @Get('me')
  @ApiOperation({ operationId: 'getMyAccount', summary: 'My account' })
  @ApiProblems(ErrorCode.UNAUTHORIZED)
  async getMe(@CurrentUser() caller: Principal<User>): Promise<UserDto> {
    return UserDto.from(await this.users.get(caller.user.id));
  }

  /**
   * Changes the caller's `username`, `firstName` or `lastName`; omitted fields stay, `null`
   * clears one. Any other field is refused with 400.
   */
  @RequiresRecentAuth(changesEmail)
  @Patch('me')
  @ApiOperation({ operationId: 'updateMyAccount', summary: 'Update my profile' })
  @ApiProblems(
    ErrorCode.VALIDATION_FAILED,
    ErrorCode.UNAUTHORIZED,
    ErrorCode.USERNAME_TAKEN,
    ErrorCode.REAUTH_REQUIRED,
  )
  async updateMe(
    @CurrentUser() caller: Principal<User>,
    @Body() dto: UpdateMeDto,
    @Client() client: ClientInfo,
  ): Promise<UserDto> {
    return UserDto.from(await this.users.updateMe(caller, dto, client));
  }

  /**
   * Deletes the caller's account and all its sessions after checking `password`; every
   * token of the account stops working at once. The last active admin cannot delete
   * themselves (409 LAST_ADMIN). The password check is under the login backoff of the
   * account's email, like change-password (429 with `Retry-After` once locked, even for the
   * right password). Rate limited per IP (`RATE_LIMIT_DELETE_ACCOUNT_IP`, 30 per 15
   * minutes) and per user (`RATE_LIMIT_DELETE_ACCOUNT_ACCOUNT`, 10 per 15 minutes).
   */
  @RateLimit('deleteAccount')
  @RequiresRecentAuth()
  @Delete('me')
  @HttpCode(204)
  @ApiOperation({
    operationId: 'deleteMyAccount',
    summary: 'Delete my account',
    description:
      "Checks `password` under the login backoff of the account's email (a wrong one counts as a failed login by that email; once locked, even the right one gets 429 with `Retry-After`; a right one clears the counter). Rate limited per IP (`RATE_LIMIT_DELETE_ACCOUNT_IP`) and per user (`RATE_LIMIT_DELETE_ACCOUNT_ACCOUNT`).",
  })
  @ApiProblems(
    ErrorCode.VALIDATION_FAILED,
    ErrorCode.INVALID_CURRENT_PASSWORD,
    ErrorCode.UNAUTHORIZED,
    ErrorCode.LAST_ADMIN,
    ErrorCode.RATE_LIMITED,
    ErrorCode.SERVICE_UNAVAILABLE,
    ErrorCode.REAUTH_REQUIRED,
  )
  async deleteMe(
    @CurrentUser() caller: Principal<User>,
    @Body() dto: DeleteMeDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    await this.users.deleteMe(caller, dto.password, client);
  }

  /**
   * Lists users, filtered by `search`, `role` and `active`, sorted by `sort` and `order`.
   * `total` is exact up to 10,000 matches (1,000 with `search`) and PostgreSQL's estimate
   * beyond (see the response schema): counting a million rows costs more than the page.
   */
  @Get()
  @Roles('ADMIN')
  @ApiOperation({
    operationId: 'listUsers',
    summary: 'List users (admin)',
    // Spelled out here as well: the Swagger plugin does not turn controller JSDoc into descriptions.
    description:
      "`total` is exact up to 10,000 matches (1,000 with `search`) and PostgreSQL's estimate beyond, never below that limit + 1: counting a million rows costs more than the page. Search terms of 3+ characters match anywhere; shorter ones match the start of a word.",
  })
  @ApiProblems(ErrorCode.VALIDATION_FAILED, ErrorCode.UNAUTHORIZED, ErrorCode.FORBIDDEN)
  async list(@Query() query: ListUsersQueryDto): Promise<UserPageDto> {
    const page = await this.users.list(query);
    return UserPageDto.of(
      page.items.map((user) => UserDto.from(user)),
      page.total,
      query.page,
      query.limit,
    );
  }

  /**
   * Creates an account; unlike registration, may set `role`, `active` and
   * `emailVerified`, and sends no verification email. Rate limited, with the admin
   * updates that set a password, per IP (`RATE_LIMIT_ADMIN_PASSWORD_IP`, 300 per 5 minutes)
   * and per admin (`RATE_LIMIT_ADMIN_PASSWORD_ACCOUNT`, 100 per 5 minutes): each hashes a
   * password.
   */
  @RateLimit('adminPassword')
  @Post()
  @Roles('ADMIN')
  @RequiresRecentAuth()
  @ApiOperation({
    operationId: 'createUser',
    summary: 'Create a user (admin)',
    description:
      'Unlike registration, may set `role`, `active` and `emailVerified`, and sends no verification email. Each call hashes a password: rate limited, together with the updates that set one, per IP (`RATE_LIMIT_ADMIN_PASSWORD_IP`) and per admin (`RATE_LIMIT_ADMIN_PASSWORD_ACCOUNT`).',
  })
  @ApiProblems(
    ErrorCode.VALIDATION_FAILED,
    ErrorCode.WEAK_PASSWORD,
    ErrorCode.UNAUTHORIZED,
    ErrorCode.FORBIDDEN,
    ErrorCode.EMAIL_TAKEN,
    ErrorCode.USERNAME_TAKEN,
    ErrorCode.RATE_LIMITED,
    ErrorCode.SERVICE_UNAVAILABLE,
    ErrorCode.REAUTH_REQUIRED,
  )
  async create(
    @Body() dto: CreateUserDto,
    @CurrentUser() caller: Principal<User>,
    @Client() client: ClientInfo,
  ): Promise<UserDto> {
    return UserDto.from(await this.users.create(dto, caller, client));
  }

  /** One user: admins may read anyone, other users only themselves (else 403). */
  @Get(':id')
  @ApiOperation({ operationId: 'getUser', summary: 'Get a user' })
  @ApiUuidParam('id', 'The user id.')
  @ApiProblems(
    ErrorCode.VALIDATION_FAILED,
    ErrorCode.UNAUTHORIZED,
    ErrorCode.FORBIDDEN,
    ErrorCode.NOT_FOUND,
  )
  async get(@CurrentUser() caller: Principal<User>, @UuidParam('id') id: string): Promise<UserDto> {
    return UserDto.from(await this.users.getAs(caller, id));
  }

  /**
   * Changes a user. Deactivating them, changing their role or setting their password
   * revokes all their sessions (their access tokens fail on the next request). A new
   * `email` is unverified unless `emailVerified` is sent too. No change may leave zero
   * active admins (409 LAST_ADMIN). A new email discards the pending password reset and
   * verification link of the old one. An update that sets `password` counts for the
   * `RATE_LIMIT_ADMIN_PASSWORD_*` limits (see createUser); others are not limited.
   */
  @RateLimit('adminPassword')
  @Patch(':id')
  @Roles('ADMIN')
  @RequiresRecentAuth()
  @ApiOperation({
    operationId: 'updateUser',
    summary: 'Update a user (admin)',
    description:
      "Deactivation, a role change or a new password revokes all the user's sessions. A new `email` is unverified unless `emailVerified` is sent, and discards the password reset (link and code) and the verification link sent to the old address. `username`, `firstName`, `lastName` accept null to clear. No change may leave zero active admins (409 LAST_ADMIN). An update that sets `password` is rate limited with createUser (`RATE_LIMIT_ADMIN_PASSWORD_IP` / `_ACCOUNT`).",
  })
  @ApiUuidParam('id', 'The user id.')
  @ApiProblems(
    ErrorCode.VALIDATION_FAILED,
    ErrorCode.WEAK_PASSWORD,
    ErrorCode.UNAUTHORIZED,
    ErrorCode.FORBIDDEN,
    ErrorCode.NOT_FOUND,
    ErrorCode.EMAIL_TAKEN,
    ErrorCode.USERNAME_TAKEN,
    ErrorCode.LAST_ADMIN,
    ErrorCode.RATE_LIMITED,
    ErrorCode.SERVICE_UNAVAILABLE,
    ErrorCode.REAUTH_REQUIRED,
  )
  async update(
    @UuidParam('id') id: string,
    @Body() dto: UpdateUserDto,
    @CurrentUser() caller: Principal<User>,
    @Client() client: ClientInfo,
  ): Promise<UserDto> {
    return UserDto.from(await this.users.update(id, dto, caller, client));
  }

  /** Deletes a user and all their sessions, unless they are the last active admin. */
  @Delete(':id')
  @HttpCode(204)
  @Roles('ADMIN')
  @RequiresRecentAuth()
  @ApiOperation({ operationId: 'deleteUser', summary: 'Delete a user (admin)' })
  @ApiUuidParam('id', 'The user id.')
  @ApiProblems(
    ErrorCode.VALIDATION_FAILED,
    ErrorCode.UNAUTHORIZED,
    ErrorCode.FORBIDDEN,
    ErrorCode.NOT_FOUND,
    ErrorCode.LAST_ADMIN,
    ErrorCode.REAUTH_REQUIRED,
  )
  async delete(
    @UuidParam('id') id: string,
    @CurrentUser() caller: Principal<User>,
    @Client() client: ClientInfo,
  ): Promise<void> {
    await this.users.delete(id, caller, client);
  }
}
