import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import type { Principal } from '../common/auth/principal.js';
import { AppError } from '../common/errors/app-error.js';
import { ErrorCode } from '../common/errors/error-code.js';
import type { ClientInfo } from '../common/http/client-info.js';
import { LoginBackoff } from '../rate-limit/login-backoff.service.js';
import { Transactional } from '../database/transactions.js';
import { SessionsService } from '../sessions/sessions.service.js';
import type { CreateUserDto } from './dto/create-user.dto.js';
import type { ListUsersQueryDto } from './dto/list-users-query.dto.js';
import type { UpdateMeDto } from './dto/update-me.dto.js';
import type { UpdateUserDto } from './dto/update-user.dto.js';
import type { User } from './entities/user.entity.js';
import { PasswordPolicy } from './password-policy.js';
import { PasswordService } from './password.service.js';
import type { UserFilter } from './user-list-sql.js';
import {
  assertAnotherAdmin,
  changedFields,
  changesFrom,
  revokesSessions,
  touchesAdminStatus,
} from './user-changes.js';
import { UsersRepository } from './users.repository.js';

/**
 * Above this many matches `total` is an estimate (see UserPageDto.total). Counting 10,000
 * rows off a btree takes about 2 ms; a search rechecks every candidate row, so it counts
 * exactly only up to 1,000.
 */
export const EXACT_COUNT_LIMIT = 10_000;
export const EXACT_SEARCH_COUNT_LIMIT = 1_000;

export interface UserPage {
  items: User[];
  total: number;
}

/**
 * Self-service and admin management of accounts. Every change that can remove an active
 * admin (demotion, deactivation, deletion) runs in a transaction that first locks the
 * active admins, so two concurrent demotions cannot both pass the LAST_ADMIN check.
 */
@Injectable()
export class UsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly sessions: SessionsService,
    private readonly passwords: PasswordService,
    private readonly policy: PasswordPolicy,
    private readonly audit: AuditService,
    private readonly backoff: LoginBackoff,
  ) {}

  async get(id: string): Promise<User> {
    const user = await this.users.findById(id);
    if (!user) throw new AppError(ErrorCode.NOT_FOUND, 'No such user.');
    return user;
  }

  /** Admins read anyone; a user reads only themselves (403 before any lookup: no probing). */
  getAs(caller: Principal<User>, id: string): Promise<User> {
    if (caller.user.role !== 'ADMIN' && caller.user.id !== id) {
      throw new AppError(ErrorCode.FORBIDDEN);
    }
    return this.get(id);
  }

  async list(query: ListUsersQueryDto): Promise<UserPage> {
    const order =
      query.order ?? (query.sort === 'createdAt' || query.sort === 'lastLoginAt' ? 'desc' : 'asc');
    const filter: UserFilter = {
      search: query.search,
      role: query.role,
      active: query.active,
      mfaEnabled: query.mfaEnabled,
    };
    const [items, total] = await Promise.all([
      this.users.list({
        ...filter,
        sort: query.sort,
        order,
        limit: query.limit,
        offset: (query.page - 1) * query.limit,
      }),
      this.total(filter),
    ]);
    return { items, total };
  }

  async create(dto: CreateUserDto, caller: Principal<User>, client: ClientInfo): Promise<User> {
    this.policy.check(dto.password, { email: dto.email, username: dto.username });
    const passwordHash = await this.passwords.hash(dto.password);
    return this.insert(dto, passwordHash, caller, client);
  }

  @Transactional()
  private async insert(
    dto: CreateUserDto,
    passwordHash: string,
    caller: Principal<User>,
    client: ClientInfo,
  ): Promise<User> {
    const user = await this.users.insert({
      email: dto.email,
      username: dto.username ?? null,
      passwordHash,
      firstName: dto.firstName ?? null,
      lastName: dto.lastName ?? null,
      role: dto.role,
      active: dto.active,
      emailVerified: dto.emailVerified,
    });
    await this.audit.record({
      type: 'user.created',
      userId: user.id,
      actorId: caller.user.id,
      client,
      metadata: { email: user.email, role: user.role, active: user.active },
    });
    return user;
  }

  updateMe(caller: Principal<User>, dto: UpdateMeDto, client: ClientInfo): Promise<User> {
    return this.update(caller.user.id, dto, caller, client);
  }

  /**
   * Applies an admin's changes. A password is hashed before the transaction (argon2 must
   * not hold row locks); a new email is unverified unless `emailVerified` says otherwise.
   * Deactivation, a role change or a new password revoke all the user's sessions in the
   * same transaction, as does the `user.updated` event (when something changed).
   */
  async update(
    id: string,
    dto: UpdateUserDto,
    caller: Principal<User>,
    client: ClientInfo,
  ): Promise<User> {
    const passwordHash = dto.password === undefined ? undefined : await this.hashFor(id, dto);
    return this.apply(id, dto, passwordHash, caller, client);
  }

  @Transactional()
  private async apply(
    id: string,
    dto: UpdateUserDto,
    passwordHash: string | undefined,
    caller: Principal<User>,
    client: ClientInfo,
  ): Promise<User> {
    const adminIds = touchesAdminStatus(dto) ? await this.users.lockActiveAdminIds() : [];
    const before = await this.users.lockById(id);
    if (!before) throw new AppError(ErrorCode.NOT_FOUND, 'No such user.');
    const changes = changesFrom(dto, before, passwordHash);
    const remainsActiveAdmin =
      (changes.role ?? before.role) === 'ADMIN' && (changes.active ?? before.active);
    if (!remainsActiveAdmin) assertAnotherAdmin(before, adminIds);
    const after = await this.users.update(id, changes);
    if (!after) throw new AppError(ErrorCode.NOT_FOUND, 'No such user.');
    const revoked = revokesSessions(before, after, passwordHash)
      ? await this.sessions.revokeAllOfUser(id)
      : 0;
    const changed = changedFields(before, after, passwordHash);
    if (changed.fields.length) {
      await this.audit.record({
        type: 'user.updated',
        userId: id,
        actorId: caller.user.id,
        client,
        metadata: { ...changed, revokedSessions: revoked },
      });
    }
    return after;
  }

  /** Deletes the caller's account after checking their password (under the login backoff). */
  async deleteMe(caller: Principal<User>, password: string, client: ClientInfo): Promise<void> {
    const valid = await this.backoff.checkCurrentPassword(caller.user, () =>
      this.passwords.verify(caller.user.passwordHash, password),
    );
    if (!valid) {
      throw new AppError(ErrorCode.INVALID_CURRENT_PASSWORD, undefined, [
        { field: 'password', message: 'password is wrong' },
      ]);
    }
    await this.delete(caller.user.id, caller, client);
  }

  /**
   * Deletes a user with their sessions (cascade), unless they are the last active admin.
   * The `user.deleted` event keeps the email: the account is gone afterwards.
   */
  @Transactional()
  async delete(id: string, caller: Principal<User>, client: ClientInfo): Promise<void> {
    const adminIds = await this.users.lockActiveAdminIds();
    const user = await this.users.lockById(id);
    if (!user) throw new AppError(ErrorCode.NOT_FOUND, 'No such user.');
    assertAnotherAdmin(user, adminIds);
    await this.users.delete(id);
    await this.audit.record({
      type: 'user.deleted',
      userId: id,
      actorId: caller.user.id,
      client,
      metadata: { email: user.email, role: user.role },
    });
  }

  /** The password rules look at the email and username the account will have. */
  private async hashFor(id: string, dto: UpdateUserDto): Promise<string> {
    const current = await this.get(id);
    const email = dto.email ?? current.email;
    const username = dto.username === undefined ? current.username : dto.username;
    this.policy.check(dto.password!, { email, username });
    return this.passwords.hash(dto.password!);
  }

  /** Exact while cheap (see EXACT_COUNT_LIMIT), else the planner's estimate. */
  private async total(filter: UserFilter): Promise<number> {
    const cap = filter.search ? EXACT_SEARCH_COUNT_LIMIT : EXACT_COUNT_LIMIT;
    const counted = await this.users.countUpTo(filter, cap);
    if (counted <= cap) return counted;
    return Math.max(counted, await this.users.estimateCount(filter));
  }
}
