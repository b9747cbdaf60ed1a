import { Injectable } from '@nestjs/common';
import { AppError } from '../common/errors/app-error.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { AppConfig } from '../config/app-config.js';
import { EmailVerificationService } from '../recovery/email-verification.service.js';
import type { SessionMeta } from '../sessions/sessions.repository.js';
import { SessionsService } from '../sessions/sessions.service.js';
import type { User } from '../users/entities/user.entity.js';
import { PasswordPolicy } from '../users/password-policy.js';
import { PasswordService } from '../users/password.service.js';
import { UsersRepository } from '../users/users.repository.js';
import type { ChangePasswordDto } from './dto/change-password.dto.js';
import type { LoginDto } from './dto/login.dto.js';
import type { LogoutScope } from './dto/logout.dto.js';
import type { RegisterDto } from './dto/register.dto.js';
import type { Principal } from './principal.js';
import { TokenService, type IssuedTokens } from './token.service.js';

/** Register, log in, refresh, log out and change password. */
@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersRepository,
    private readonly passwords: PasswordService,
    private readonly policy: PasswordPolicy,
    private readonly sessions: SessionsService,
    private readonly tokens: TokenService,
    private readonly config: AppConfig,
    private readonly verification: EmailVerificationService,
  ) {}

  async register(dto: RegisterDto): Promise<User> {
    this.policy.check(dto.password, { email: dto.email, username: dto.username });
    // Cheap early answers for the common case; the unique indexes settle any race.
    if (await this.users.findByLogin('email', dto.email)) throw new AppError(ErrorCode.EMAIL_TAKEN);
    if (dto.username && (await this.users.findByLogin('username', dto.username))) {
      throw new AppError(ErrorCode.USERNAME_TAKEN);
    }
    const passwordHash = await this.passwords.hash(dto.password);
    // The user and its verification email are committed together, or neither is.
    return this.verification.createWithVerification((tx) =>
      this.users.insert(
        {
          email: dto.email,
          username: dto.username ?? null,
          passwordHash,
          firstName: dto.firstName ?? null,
          lastName: dto.lastName ?? null,
        },
        tx,
      ),
    );
  }

  /**
   * Unknown users and wrong passwords cost one argon2 verify each and get the same answer;
   * the account's state is only revealed after a correct password.
   */
  async login(dto: LoginDto, meta: SessionMeta): Promise<IssuedTokens> {
    const by = loginIdentifier(dto);
    const user = await this.users.findByLogin(by, by === 'email' ? dto.email! : dto.username!);
    const valid = user
      ? await this.passwords.verify(user.passwordHash, dto.password)
      : await this.passwords.verifyDummy(dto.password);
    if (!user || !valid) throw new AppError(ErrorCode.INVALID_CREDENTIALS);
    if (!user.active) throw new AppError(ErrorCode.ACCOUNT_DISABLED);
    if (this.config.emailVerification === 'required' && !user.emailVerified) {
      throw new AppError(ErrorCode.EMAIL_NOT_VERIFIED);
    }
    const rehash = this.passwords.needsRehash(user.passwordHash)
      ? await this.passwords.hash(dto.password)
      : undefined;
    const session = await this.sessions.open(user.id, meta);
    const updated = await this.users.recordLogin(user.id, rehash);
    return this.tokens.tokenResponse(updated, session);
  }

  async refresh(refreshToken: string | undefined): Promise<IssuedTokens> {
    if (!refreshToken) throw new AppError(ErrorCode.INVALID_REFRESH_TOKEN);
    const rotated = await this.sessions.rotate(refreshToken);
    return this.tokens.tokenResponse(rotated.user, rotated);
  }

  /** Ends sessions of the caller, identified by the access token or else by a refresh token. */
  async logout(
    principal: Principal | undefined,
    refreshToken: string | undefined,
    scope: LogoutScope = 'local',
  ): Promise<void> {
    const current = principal
      ? { sessionId: principal.sessionId, userId: principal.user.id }
      : await this.sessionOfRefreshToken(refreshToken);
    switch (scope) {
      case 'local':
        await this.sessions.revoke(current.sessionId);
        return;
      case 'others':
        await this.sessions.revokeAllOfUser(current.userId, current.sessionId);
        return;
      case 'global':
        await this.sessions.revokeAllOfUser(current.userId);
        return;
    }
  }

  /** Verifies the current password, sets the new one and ends every other session. */
  async changePassword(principal: Principal, dto: ChangePasswordDto): Promise<void> {
    if (dto.confirmPassword !== undefined && dto.confirmPassword !== dto.newPassword) {
      throw new AppError(ErrorCode.PASSWORD_MISMATCH, undefined, [
        { field: 'confirmPassword', message: 'confirmPassword must equal newPassword' },
      ]);
    }
    const { user } = principal;
    if (!(await this.passwords.verify(user.passwordHash, dto.currentPassword))) {
      throw new AppError(ErrorCode.INVALID_CURRENT_PASSWORD, undefined, [
        { field: 'currentPassword', message: 'currentPassword is wrong' },
      ]);
    }
    this.policy.check(dto.newPassword, user, 'newPassword');
    const hash = await this.passwords.hash(dto.newPassword);
    await this.sessions.transaction(async (tx) => {
      await this.users.setPasswordHash(user.id, hash, tx);
      await this.sessions.revokeAllOfUser(user.id, principal.sessionId, tx);
    });
  }

  private async sessionOfRefreshToken(
    refreshToken: string | undefined,
  ): Promise<{ sessionId: string; userId: string }> {
    const session = refreshToken ? await this.sessions.findByRefreshToken(refreshToken) : undefined;
    if (!session) throw new AppError(ErrorCode.UNAUTHORIZED);
    return { sessionId: session.session_id, userId: session.user_id };
  }
}

function loginIdentifier(dto: LoginDto): 'email' | 'username' {
  const hasEmail = dto.email !== undefined && dto.email !== '';
  const hasUsername = dto.username !== undefined && dto.username !== '';
  if (hasEmail === hasUsername) {
    throw new AppError(ErrorCode.VALIDATION_FAILED, 'Send exactly one of email or username.', [
      { field: hasEmail ? 'username' : 'email', message: 'send exactly one of email or username' },
    ]);
  }
  return hasEmail ? 'email' : 'username';
}
