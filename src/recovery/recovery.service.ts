import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { AppError } from '../common/errors/app-error.js';
import { ErrorCode } from '../common/errors/error-code.js';
import type { ClientInfo } from '../common/http/client-info.js';
import { AppConfig } from '../config/app-config.js';
import { Transactional } from '../database/transactions.js';
import { describeDuration } from '../mail/mail-message.js';
import { MailOutbox } from '../mail/mail-outbox.service.js';
import { LoginBackoff } from '../rate-limit/login-backoff.service.js';
import { emailIdentifier, identifierHash } from '../rate-limit/login-identifier.js';
import { SessionsService } from '../sessions/sessions.service.js';
import type { User } from '../users/entities/user.entity.js';
import { PasswordPolicy } from '../users/password-policy.js';
import { PasswordService } from '../users/password.service.js';
import { UsersRepository } from '../users/users.repository.js';
import { CodeHasher } from './code-hasher.js';
import { EmailVerificationsRepository } from './email-verifications.repository.js';
import { NO_ACCOUNT, PasswordResetsRepository } from './password-resets.repository.js';
import { RecoveryRequestsRepository } from './recovery-requests.repository.js';
import { hashToken, newCode, newToken } from './secrets.js';

export interface IssuedResetToken {
  resetToken: string;
  expiresInSeconds: number;
}

type CodeCheck =
  { kind: 'accepted'; resetToken: string } | { kind: 'wrong' } | { kind: 'exhausted' };

/**
 * Password recovery (API.md, "Recovery"): one request emails a link and a code; the code
 * can be traded for a reset token; either token sets a new password once.
 */
@Injectable()
export class RecoveryService {
  constructor(
    private readonly resets: PasswordResetsRepository,
    private readonly requests: RecoveryRequestsRepository,
    private readonly verifications: EmailVerificationsRepository,
    private readonly users: UsersRepository,
    private readonly codes: CodeHasher,
    private readonly outbox: MailOutbox,
    private readonly sessions: SessionsService,
    private readonly passwords: PasswordService,
    private readonly policy: PasswordPolicy,
    private readonly config: AppConfig,
    private readonly audit: AuditService,
    private readonly backoff: LoginBackoff,
  ) {}

  /**
   * Replaces any previous request of the account and queues one email with a new link and
   * code. Unknown (or disabled) accounts go through the same steps (secrets, HMAC, the same
   * statements in one transaction, the audit event too) and nothing is stored or sent, so
   * neither the answer nor its timing tells whether the account exists.
   *
   * At most RECOVERY_CODES_PER_HOUR codes are sent to one (normalized) email per hour,
   * whatever the IPs asking and whether or not an account has it: past the cap the answer
   * is the same 202, nothing is sent and the latest code stays the live one. Each code
   * brings a fresh OTP_MAX_ATTEMPTS, so the cap bounds the guesses an account can get.
   */
  async forgotPassword(email: string, client: ClientInfo): Promise<void> {
    const linkToken = newToken();
    const code = newCode();
    const linkTokenHash = hashToken(linkToken);
    const secrets = {
      linkTokenHash,
      codeHmac: this.codes.hash(code, linkTokenHash),
      ttlMs: this.ttlMs,
    };
    await this.requestReset(email, secrets, linkToken, code, client);
  }

  @Transactional()
  private async requestReset(
    email: string,
    secrets: { linkTokenHash: Buffer; codeHmac: Buffer; ttlMs: number },
    linkToken: string,
    code: string,
    client: ClientInfo,
  ): Promise<void> {
    const { codesPerHour } = this.config.recovery;
    const sent = await this.requests.countCode(keyOf(email), codesPerHour, this.ttlMs);
    // The same statements for an unknown (or disabled) account, which change nothing.
    const account = await this.users.findActiveByEmail(email);
    const target = sent ? account : undefined;
    await this.resets.replace(target?.id, secrets);
    await this.audit.record({
      type: 'password.reset_requested',
      userId: target?.id ?? null,
      actorId: null,
      client,
      metadata: sent ? { email } : { email, capped: true, perHour: codesPerHour },
    });
    if (!target) return this.outbox.enqueueNothing();
    await this.outbox.enqueue({
      template: 'reset-password',
      to: target.email,
      context: {
        link: `${this.config.appUrl}/reset-password?token=${encodeURIComponent(linkToken)}`,
        code,
        expiresIn: describeDuration(this.ttlMs),
      },
    });
  }

  /**
   * Trades a correct code for a reset token. Wrong codes are counted per normalized email
   * (`recovery_requests`, under a row lock), for unknown emails exactly as for real ones:
   * after OTP_MAX_ATTEMPTS of them since the latest forgot-password the code is dead, even
   * the right one, and the answers never tell whether an account exists.
   */
  async verifyCode(email: string, code: string): Promise<IssuedResetToken> {
    const outcome = await this.checkCode(email, code);
    switch (outcome.kind) {
      case 'accepted':
        return { resetToken: outcome.resetToken, expiresInSeconds: Math.floor(this.ttlMs / 1000) };
      case 'exhausted':
        throw new AppError(ErrorCode.TOO_MANY_ATTEMPTS);
      case 'wrong':
        throw new AppError(ErrorCode.INVALID_CODE);
    }
  }

  /**
   * Answers instead of throwing, so that the count of a wrong code is committed rather than
   * rolled back with the error.
   */
  @Transactional()
  private async checkCode(email: string, code: string): Promise<CodeCheck> {
    const key = keyOf(email);
    const request = await this.requests.lockLive(key);
    if (!request) {
      this.codes.hash(code, Buffer.alloc(32)); // the same work as a real check
      return { kind: 'wrong' };
    }
    if (request.codeAttempts >= this.config.recovery.otpMaxAttempts) return { kind: 'exhausted' };
    const account = await this.users.findActiveByEmail(email);
    const reset = await this.resets.lockLive(account?.id ?? NO_ACCOUNT);
    const matches = reset?.codeHmac
      ? this.codes.matches(code, reset.linkTokenHash, reset.codeHmac)
      : (this.codes.hash(code, Buffer.alloc(32)), false);
    if (!reset || !matches) {
      await this.requests.countWrongCode(key);
      return { kind: 'wrong' };
    }
    const resetToken = newToken();
    await this.resets.issueResetToken(reset.userId, hashToken(resetToken), this.ttlMs);
    await this.requests.endCode(key);
    return { kind: 'accepted', resetToken };
  }

  /**
   * Sets a new password with a link token or a reset token, in one transaction: the
   * token is used up, every session revoked, the email marked verified and a "password
   * changed" email queued, the login backoff of the account cleared and the events
   * written. A weak password leaves the token usable for another try.
   */
  async resetPassword(token: string, newPassword: string, client: ClientInfo): Promise<void> {
    const tokenHash = hashToken(token);
    const userId = await this.resets.findUserIdByToken(tokenHash);
    const user = userId ? await this.users.findById(userId) : undefined;
    if (!user?.active) throw new AppError(ErrorCode.INVALID_OR_EXPIRED_TOKEN);
    this.policy.check(newPassword, user, 'newPassword');
    const passwordHash = await this.passwords.hash(newPassword);
    await this.setPassword(tokenHash, user, passwordHash, client);
  }

  @Transactional()
  private async setPassword(
    tokenHash: Buffer,
    user: User,
    passwordHash: string,
    client: ClientInfo,
  ): Promise<void> {
    const userId = await this.resets.consume(tokenHash);
    // Used or replaced while the password was being hashed.
    if (userId !== user.id) throw new AppError(ErrorCode.INVALID_OR_EXPIRED_TOKEN);
    const email = await this.users.setPasswordAndVerifyEmail(userId, passwordHash);
    if (email === undefined) throw new AppError(ErrorCode.INVALID_OR_EXPIRED_TOKEN);
    await this.verifications.discard(userId);
    const revokedSessions = await this.sessions.revokeAllOfUser(userId);
    await this.backoff.clearAccount(user);
    const event = { userId, actorId: userId, client };
    await this.audit.record({ ...event, type: 'password.reset', metadata: { revokedSessions } });
    if (!user.emailVerified) {
      await this.audit.record({
        ...event,
        type: 'email.verified',
        metadata: { via: 'password_reset' },
      });
    }
    await this.outbox.enqueue({
      template: 'password-changed',
      to: email,
      context: { appUrl: this.config.appUrl },
    });
  }

  private get ttlMs(): number {
    return this.config.recovery.tokenTtlMs;
  }
}

/** The recovery counters' key: the login backoff's hash of the normalized email. */
function keyOf(email: string): Buffer {
  return identifierHash(emailIdentifier(email));
}
