import { Injectable } from '@nestjs/common';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { LoginFailureReason } from '../audit/audit-event-type.js';
import { AuditService } from '../audit/audit.service.js';
import { AppError } from '../common/errors/app-error.js';
import { ErrorCode } from '../common/errors/error-code.js';
import type { ClientInfo } from '../common/http/client-info.js';
import { AppConfig } from '../config/app-config.js';
import { Transactional } from '../database/transactions.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { LoginBackoff } from '../rate-limit/login-backoff.service.js';
import {
  emailIdentifier,
  usernameIdentifier,
  type LoginIdentifier,
} from '../rate-limit/login-identifier.js';
import { EmailVerificationService } from '../recovery/email-verification.service.js';
import { SessionsService, newSession } from '../sessions/sessions.service.js';
import type { User } from '../users/entities/user.entity.js';
import { PasswordPolicy } from '../users/password-policy.js';
import { hashedForm } from '../users/password-text.js';
import { PasswordService } from '../users/password.service.js';
import { UsersRepository } from '../users/users.repository.js';
import type { ChangePasswordDto } from './dto/change-password.dto.js';
import type { LoginDto } from './dto/login.dto.js';
import type { LogoutScope } from './dto/logout.dto.js';
import type { RegisterDto } from './dto/register.dto.js';
import type { Principal } from '../common/auth/principal.js';
import { exactlyOneFactor, FACTOR_FIELDS, given as isGiven } from '../mfa/dto/factor-proof.js';
import { MfaService, type FactorProof } from '../mfa/mfa.service.js';
import type { MfaRequiredDto, ReauthenticateDto } from './dto/mfa.dto.js';
import { TokenService, type IssuedTokens } from './token.service.js';

/** The answer to a correct password when the user has a second factor. */
export type MfaRequired = MfaRequiredDto;

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
    private readonly backoff: LoginBackoff,
    private readonly audit: AuditService,
    private readonly metrics: MetricsService,
    private readonly mfa: MfaService,
  ) {}

  async register(dto: RegisterDto, client: ClientInfo): Promise<User> {
    this.policy.check(dto.password, { email: dto.email, username: dto.username });
    // Cheap early answers for the common case; the unique indexes settle any race.
    if (await this.users.findByLogin('email', dto.email)) throw new AppError(ErrorCode.EMAIL_TAKEN);
    if (dto.username && (await this.users.findByLogin('username', dto.username))) {
      throw new AppError(ErrorCode.USERNAME_TAKEN);
    }
    // Hashed before the transaction: argon2 must not hold it open.
    const passwordHash = await this.passwords.hash(dto.password);
    return this.createAccount(dto, passwordHash, client);
  }

  /** The user, its verification email and the event are committed together, or none is. */
  @Transactional()
  private async createAccount(
    dto: RegisterDto,
    passwordHash: string,
    client: ClientInfo,
  ): Promise<User> {
    const user = await this.users.insert({
      email: dto.email,
      username: dto.username ?? null,
      passwordHash,
      firstName: dto.firstName ?? null,
      lastName: dto.lastName ?? null,
    });
    await this.verification.issueFirst(user);
    await this.audit.record({ type: 'user.registered', userId: user.id, actorId: user.id, client });
    return user;
  }

  /**
   * Unknown users and wrong passwords cost one argon2 verify each and get the same answer;
   * the account's state is only revealed after a correct password. The attempt is counted
   * by the login backoff before the password is checked, and cleared by a correct one.
   */
  async login(dto: LoginDto, client: ClientInfo): Promise<IssuedTokens | MfaRequired> {
    const identifier = loginIdentifier(dto);
    const attempt = await this.backoff.begin(identifier);
    if (!attempt.allowed) {
      this.metrics.loginOutcome('rate_limited');
      if (attempt.firstRefusal) {
        const known = await this.users.findByLogin(identifier.kind, identifier.value);
        await this.loginFailed(client, 'locked', identifier, known, {
          retryAfterSeconds: attempt.retryAfterSeconds,
        });
      }
      throw new AppError(ErrorCode.RATE_LIMITED, undefined, undefined, {
        'retry-after': String(attempt.retryAfterSeconds),
      });
    }
    const user = await this.users.findByLogin(identifier.kind, identifier.value);
    const valid = user
      ? await this.passwords.verify(user.passwordHash, dto.password)
      : await this.passwords.verifyDummy(dto.password);
    if (!user || !valid) {
      await this.loginFailed(client, 'invalid_credentials', identifier, user, {
        failures: attempt.failures || undefined,
        lockedForSeconds: attempt.lockedForSeconds ?? undefined,
      });
      throw new AppError(ErrorCode.INVALID_CREDENTIALS);
    }
    // A correct password ends the backoff, whatever the account's state.
    if (!user.active || (this.config.emailVerification === 'required' && !user.emailVerified)) {
      await this.backoff.succeeded(identifier);
      const reason = user.active ? 'email_not_verified' : 'account_disabled';
      await this.loginFailed(client, reason, identifier, user);
      throw new AppError(user.active ? ErrorCode.EMAIL_NOT_VERIFIED : ErrorCode.ACCOUNT_DISABLED);
    }
    // A password typed in another form than NFC may have matched a hash of that raw form,
    // made before passwords were normalized: rehashed (as NFC), it needs no fallback again.
    const rehash =
      this.passwords.needsRehash(user.passwordHash) || dto.password !== hashedForm(dto.password)
        ? await this.passwords.hash(dto.password)
        : undefined;
    if (user.mfaEnabled) return this.challenge(user, identifier, rehash);
    return this.openSession(user, identifier, client, { amr: ['pwd'], rehash });
  }

  /**
   * A correct password of a user with a second factor: no session yet, an `mfa_token`
   * for `POST /api/auth/mfa/verify`. The correct password clears the backoff as for any
   * login; the second step's codes then count in it (five wrong ones lock the account's
   * logins like five wrong passwords). A rehash is stored now: the second step no longer
   * has the password.
   */
  private async challenge(
    user: User,
    identifier: LoginIdentifier,
    rehash: string | undefined,
  ): Promise<MfaRequired> {
    await this.backoff.succeeded(identifier);
    if (rehash) await this.users.setPasswordHash(user.id, rehash);
    const challenge = await this.mfa.createChallenge(
      user,
      identifier.kind,
      rehash ?? user.passwordHash,
    );
    this.metrics.loginOutcome('mfa_required');
    return {
      mfa_required: true,
      mfa_token: challenge.mfaToken,
      expires_in: challenge.expiresInSeconds,
      methods: challenge.methods,
    };
  }

  /**
   * The second step of a login: a TOTP code or a recovery code for the `mfa_token`. Counted
   * by the login backoff of the account like a password; a correct code clears it.
   */
  async verifyMfa(mfaToken: string, proof: FactorProof, client: ClientInfo): Promise<IssuedTokens> {
    const pending = await this.mfa.challengedUser(mfaToken);
    if (!pending) throw new AppError(ErrorCode.INVALID_MFA_TOKEN);
    const identifier = identifierOf(pending.user, pending.identifierKind);
    const attempt = await this.backoff.begin(identifier);
    if (!attempt.allowed) {
      throw new AppError(ErrorCode.RATE_LIMITED, undefined, undefined, {
        'retry-after': String(attempt.retryAfterSeconds),
      });
    }
    const outcome = await this.mfa.answerChallenge(mfaToken, proof, client);
    switch (outcome.kind) {
      case 'invalid_token':
        throw new AppError(ErrorCode.INVALID_MFA_TOKEN);
      case 'wrong_code':
        if (outcome.dead) throw new AppError(ErrorCode.TOO_MANY_ATTEMPTS);
        throw new AppError(proof.webauthn ? ErrorCode.INVALID_PASSKEY : ErrorCode.INVALID_CODE);
      case 'verified':
        return this.openSession(outcome.user, identifier, client, {
          amr: ['pwd', outcome.method === 'webauthn' ? 'hwk' : 'otp', 'mfa'],
          rehash: undefined,
          mfaMethod: outcome.method,
        });
    }
  }

  /**
   * A username-less sign-in with a passkey (user verification required: possession and a
   * PIN or biometric, `amr` hwk + user, AAL2). Counted by the login backoff of the
   * passkey's account like a password; an unknown passkey costs only the IP limit.
   */
  async loginWithPasskey(
    credential: AuthenticationResponseJSON,
    client: ClientInfo,
  ): Promise<IssuedTokens> {
    const owner = await this.mfa.passkeyOwner(credential.id);
    const identifier = owner && emailIdentifier(owner.email);
    if (identifier) {
      const attempt = await this.backoff.begin(identifier);
      if (!attempt.allowed) {
        this.metrics.loginOutcome('rate_limited');
        throw new AppError(ErrorCode.RATE_LIMITED, undefined, undefined, {
          'retry-after': String(attempt.retryAfterSeconds),
        });
      }
    }
    const signedIn = await this.mfa.passkeySignIn(credential);
    if (!signedIn || !identifier || signedIn.user.id !== owner.id) {
      this.metrics.loginOutcome('invalid_credentials');
      await this.audit.record({
        type: 'user.login_failed',
        userId: owner?.id ?? null,
        actorId: null,
        client,
        metadata: { reason: 'invalid_credentials', method: 'passkey' },
      });
      throw new AppError(ErrorCode.INVALID_PASSKEY);
    }
    const { user } = signedIn;
    if (!user.active || (this.config.emailVerification === 'required' && !user.emailVerified)) {
      await this.backoff.succeeded(identifier);
      const reason = user.active ? 'email_not_verified' : 'account_disabled';
      await this.loginFailed(client, reason, identifier, user, { method: 'passkey' });
      throw new AppError(user.active ? ErrorCode.EMAIL_NOT_VERIFIED : ErrorCode.ACCOUNT_DISABLED);
    }
    // Written before the session opens: a failure here leaves no session behind an error
    // answer. The session's own `user.login` (method `passkey`) goes with it in one statement.
    await this.audit.record({
      type: 'passkey.login',
      userId: user.id,
      actorId: user.id,
      client,
      metadata: { passkeyId: signedIn.passkeyId },
    });
    return this.openSession(user, identifier, client, {
      amr: ['hwk', 'user', 'mfa'],
      rehash: undefined,
      loginMethod: 'passkey',
    });
  }

  /**
   * Step-up: the password or a second factor again, so that this session may make the
   * writes `@RequiresRecentAuth()` guards for `REAUTH_MAX_AGE`. Counted by the account's
   * login backoff like a login.
   */
  async reauthenticate(
    principal: Principal<User>,
    dto: ReauthenticateDto,
    client: ClientInfo,
  ): Promise<void> {
    const given = (['password', ...FACTOR_FIELDS] as const).filter((field) => isGiven(dto[field]));
    if (given.length !== 1) {
      throw new AppError(
        ErrorCode.VALIDATION_FAILED,
        'Send exactly one of password, code, recoveryCode or webauthn.',
        [
          {
            field: given[1] ?? 'password',
            message: 'send exactly one of password, code, recoveryCode or webauthn',
          },
        ],
      );
    }
    const { user } = principal;
    const identifier = emailIdentifier(user.email);
    const attempt = await this.backoff.begin(identifier);
    if (!attempt.allowed) {
      throw new AppError(ErrorCode.RATE_LIMITED, undefined, undefined, {
        'retry-after': String(attempt.retryAfterSeconds),
      });
    }
    let method: string | undefined;
    if (dto.password !== undefined && given[0] === 'password') {
      if (!(await this.passwords.verify(user.passwordHash, dto.password))) {
        throw new AppError(ErrorCode.INVALID_CURRENT_PASSWORD);
      }
      method = 'password';
    } else {
      const proof = exactlyOneFactor(dto);
      method = await this.mfa.verifyFactor(user, proof, client);
      if (!method) {
        throw new AppError(proof.webauthn ? ErrorCode.INVALID_PASSKEY : ErrorCode.INVALID_CODE);
      }
    }
    await this.backoff.succeeded(identifier);
    await this.renewAuthentication(principal.sessionId, user, method, client);
  }

  @Transactional()
  private async renewAuthentication(
    sessionId: string,
    user: User,
    method: string,
    client: ClientInfo,
  ): Promise<void> {
    if (!(await this.sessions.markAuthenticated(sessionId))) {
      throw new AppError(ErrorCode.UNAUTHORIZED);
    }
    await this.audit.record({
      type: 'session.reauthenticated',
      userId: user.id,
      actorId: user.id,
      client,
      metadata: { sessionId, method },
    });
  }

  /** The session of a complete login: one statement (SessionsRepository.recordLogin). */
  private async openSession(
    user: User,
    identifier: LoginIdentifier,
    client: ClientInfo,
    how: { amr: string[]; rehash: string | undefined; mfaMethod?: string; loginMethod?: string },
  ): Promise<IssuedTokens> {
    const { sessionId, refreshToken, refreshTokenHash } = newSession();
    const { refreshTokenTtlMs, maxAgeMs } = this.config.session;
    // The session, its refresh token, lastLoginAt, the backoff and the event: one statement.
    const recorded = await this.sessions.recordLogin({
      sessionId,
      userId: user.id,
      refreshTokenHash,
      idleTtlMs: refreshTokenTtlMs,
      maxAgeMs,
      client,
      verifiedHash: user.passwordHash,
      rehash: how.rehash,
      backoffKeys: this.backoff.keysToClear(identifier),
      amr: how.amr,
      audit: this.audit.prepare({
        type: 'user.login',
        userId: user.id,
        actorId: user.id,
        client,
        metadata: {
          sessionId,
          method: how.loginMethod ?? identifier.kind,
          ...(how.mfaMethod ? { mfa: how.mfaMethod } : {}),
        },
      }),
    });
    if (!recorded) {
      // The password was reset or changed, or the account deactivated, while it was checked.
      await this.loginFailed(client, 'invalid_credentials', identifier, user);
      throw new AppError(ErrorCode.INVALID_CREDENTIALS);
    }
    this.metrics.loginOutcome('success');
    const { user: updated, expiresAt } = recorded;
    return this.tokens.tokenResponse(updated, {
      sessionId,
      refreshToken,
      expiresAt,
      amr: how.amr,
    });
  }

  /**
   * Counts the outcome (a refusal by the backoff is counted by the caller, every time) and
   * writes `user.login_failed`; the caller then throws.
   */
  private async loginFailed(
    client: ClientInfo,
    reason: Exclude<LoginFailureReason, 'rate_limited'>,
    identifier: LoginIdentifier,
    user: User | undefined,
    details: Record<string, unknown> = {},
  ): Promise<void> {
    if (reason !== 'locked') this.metrics.loginOutcome(reason);
    await this.audit.record({
      type: 'user.login_failed',
      userId: user?.id ?? null,
      actorId: null,
      client,
      metadata: {
        reason,
        ...this.audit.identifierMetadata(identifier, user !== undefined),
        ...details,
      },
    });
  }

  async refresh(refreshToken: string | undefined, client: ClientInfo): Promise<IssuedTokens> {
    if (!refreshToken) throw new AppError(ErrorCode.INVALID_REFRESH_TOKEN);
    const rotated = await this.sessions.rotate(refreshToken, client);
    return this.tokens.tokenResponse(rotated.user, rotated);
  }

  /** Ends sessions of the caller, identified by the access token or else by a refresh token. */
  async logout(
    principal: Principal<User> | undefined,
    refreshToken: string | undefined,
    scope: LogoutScope | undefined,
    client: ClientInfo,
  ): Promise<void> {
    const current = principal
      ? { sessionId: principal.sessionId, userId: principal.user.id }
      : await this.sessionOfRefreshToken(refreshToken);
    await this.endSessions(current, scope ?? 'local', client);
  }

  @Transactional()
  private async endSessions(
    current: { sessionId: string; userId: string },
    scope: LogoutScope,
    client: ClientInfo,
  ): Promise<void> {
    const revokedSessions = await this.revokeForLogout(current, scope);
    await this.audit.record({
      type: 'user.logout',
      userId: current.userId,
      actorId: current.userId,
      client,
      metadata: { sessionId: current.sessionId, scope, revokedSessions },
    });
  }

  private async revokeForLogout(
    current: { sessionId: string; userId: string },
    scope: LogoutScope,
  ): Promise<number> {
    switch (scope) {
      case 'local':
        return (await this.sessions.revoke(current.sessionId)) ? 1 : 0;
      case 'others':
        return this.sessions.revokeAllOfUser(current.userId, current.sessionId);
      case 'global':
        return this.sessions.revokeAllOfUser(current.userId);
    }
  }

  /** Verifies the current password, sets the new one and ends every other session. */
  async changePassword(
    principal: Principal<User>,
    dto: ChangePasswordDto,
    client: ClientInfo,
  ): Promise<void> {
    if (dto.confirmPassword !== undefined && dto.confirmPassword !== dto.newPassword) {
      throw new AppError(ErrorCode.PASSWORD_MISMATCH, undefined, [
        { field: 'confirmPassword', message: 'confirmPassword must equal newPassword' },
      ]);
    }
    const { user } = principal;
    const valid = await this.backoff.checkCurrentPassword(user, () =>
      this.passwords.verify(user.passwordHash, dto.currentPassword),
    );
    if (!valid) {
      throw new AppError(ErrorCode.INVALID_CURRENT_PASSWORD, undefined, [
        { field: 'currentPassword', message: 'currentPassword is wrong' },
      ]);
    }
    this.policy.check(dto.newPassword, user, 'newPassword');
    const hash = await this.passwords.hash(dto.newPassword);
    await this.setPassword(principal, hash, client);
  }

  /** The new password, every other session ended and the event: together or not at all. */
  @Transactional()
  private async setPassword(principal: Principal<User>, hash: string, client: ClientInfo) {
    const { user } = principal;
    await this.users.setPasswordHash(user.id, hash);
    const revokedSessions = await this.sessions.revokeAllOfUser(user.id, principal.sessionId);
    await this.audit.record({
      type: 'password.changed',
      userId: user.id,
      actorId: user.id,
      client,
      metadata: { sessionId: principal.sessionId, revokedSessions },
    });
  }

  private async sessionOfRefreshToken(
    refreshToken: string | undefined,
  ): Promise<{ sessionId: string; userId: string }> {
    const session = refreshToken ? await this.sessions.findByRefreshToken(refreshToken) : undefined;
    if (!session) throw new AppError(ErrorCode.UNAUTHORIZED);
    return session;
  }
}

/** The identifier a pending second step's password step used, from the account's record. */
function identifierOf(user: User, kind: 'email' | 'username'): LoginIdentifier {
  return kind === 'username' && user.username
    ? usernameIdentifier(user.username)
    : emailIdentifier(user.email);
}

function loginIdentifier(dto: LoginDto): LoginIdentifier {
  const hasEmail = dto.email !== undefined && dto.email !== '';
  const hasUsername = dto.username !== undefined && dto.username !== '';
  if (hasEmail === hasUsername) {
    throw new AppError(ErrorCode.VALIDATION_FAILED, 'Send exactly one of email or username.', [
      { field: hasEmail ? 'username' : 'email', message: 'send exactly one of email or username' },
    ]);
  }
  return hasEmail ? emailIdentifier(dto.email!) : usernameIdentifier(dto.username!);
}
