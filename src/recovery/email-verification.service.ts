import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { AppError } from '../common/errors/app-error.js';
import { ErrorCode } from '../common/errors/error-code.js';
import type { ClientInfo } from '../common/http/client-info.js';
import { AppConfig } from '../config/app-config.js';
import { describeDuration } from '../mail/mail-message.js';
import { MailOutbox } from '../mail/mail-outbox.service.js';
import { Transactional } from '../database/transactions.js';
import type { User } from '../users/entities/user.entity.js';
import { UsersRepository } from '../users/users.repository.js';
import { EmailVerificationsRepository } from './email-verifications.repository.js';
import { hashToken, newToken } from './secrets.js';

/** Verification links: sent at registration and on request, single-use, expiring. */
@Injectable()
export class EmailVerificationService {
  constructor(
    private readonly verifications: EmailVerificationsRepository,
    private readonly users: UsersRepository,
    private readonly outbox: MailOutbox,
    private readonly config: AppConfig,
    private readonly audit: AuditService,
  ) {}

  /**
   * Issues the first link of a new account and queues its email, in the caller's
   * transaction (registration's): there is never an account whose email was lost, nor an
   * email for an account that failed to be created.
   */
  async issueFirst(user: User): Promise<void> {
    const token = newToken();
    await this.verifications.issue(user.id, hashToken(token), this.ttlMs);
    await this.outbox.enqueue(this.message(user.email, token));
  }

  /**
   * Sends a new link (replacing the previous one) when the email belongs to an active,
   * unverified account; otherwise does the same work and sends nothing.
   */
  @Transactional()
  async resend(email: string): Promise<void> {
    const token = newToken();
    const user = await this.users.findActiveByEmail(email);
    const target = user && !user.emailVerified ? user : undefined;
    await this.verifications.issue(target?.id, hashToken(token), this.ttlMs);
    if (target) await this.outbox.enqueue(this.message(target.email, token));
    else await this.outbox.enqueueNothing();
  }

  /** Marks the email of the token's user verified; the token is used up. */
  async verify(token: string, client: ClientInfo): Promise<User> {
    const user = await this.consume(token, client);
    if (!user) throw new AppError(ErrorCode.INVALID_OR_EXPIRED_TOKEN);
    return user;
  }

  @Transactional()
  private async consume(token: string, client: ClientInfo): Promise<User | undefined> {
    const userId = await this.verifications.consume(hashToken(token));
    const verified = userId ? await this.users.markEmailVerified(userId) : undefined;
    if (verified) {
      await this.audit.record({
        type: 'email.verified',
        userId: verified.id,
        actorId: verified.id,
        client,
        metadata: { email: verified.email, via: 'link' },
      });
    }
    return verified;
  }

  private get ttlMs(): number {
    return this.config.emailVerificationTtlMs;
  }

  private message(to: string, token: string) {
    return {
      template: 'verify-email' as const,
      to,
      context: {
        link: `${this.config.appUrl}/verify-email?token=${encodeURIComponent(token)}`,
        expiresIn: describeDuration(this.ttlMs),
      },
    };
  }
}
