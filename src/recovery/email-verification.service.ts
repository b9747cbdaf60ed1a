import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { AppError } from '../common/errors/app-error.js';
import { ErrorCode } from '../common/errors/error-code.js';
import type { ClientInfo } from '../common/http/client-info.js';
import { AppConfig } from '../config/app-config.js';
import { describeDuration } from '../mail/mail-message.js';
import { MailOutbox } from '../mail/mail-outbox.service.js';
import type { User } from '../users/entities/user.entity.js';
import { EmailVerificationsRepository } from './email-verifications.repository.js';
import { hashToken, newToken } from './secrets.js';

/** Verification links: sent at registration and on request, single-use, expiring. */
@Injectable()
export class EmailVerificationService {
  constructor(
    private readonly verifications: EmailVerificationsRepository,
    private readonly outbox: MailOutbox,
    private readonly config: AppConfig,
    private readonly audit: AuditService,
  ) {}

  /**
   * Creates the user with `insertUser` and queues its verification email in the same
   * transaction: there is never an account whose email was lost, nor an email for an
   * account that failed to be created.
   */
  createWithVerification(insertUser: (manager: EntityManager) => Promise<User>): Promise<User> {
    return this.outbox.inTransaction(async (tx) => {
      const user = await insertUser(tx);
      const token = newToken();
      await this.verifications.issue(tx, user.id, hashToken(token), this.ttlMs);
      await this.outbox.enqueue(tx, this.message(user.email, token));
      return user;
    });
  }

  /**
   * Sends a new link (replacing the previous one) when the email belongs to an active,
   * unverified account; otherwise does the same work and sends nothing.
   */
  async resend(email: string): Promise<void> {
    const token = newToken();
    await this.outbox.inTransaction(async (tx) => {
      const target = await this.verifications.reissueByEmail(
        tx,
        email,
        hashToken(token),
        this.ttlMs,
      );
      if (target) await this.outbox.enqueue(tx, this.message(target.email, token));
      else await this.outbox.enqueueNothing(tx);
    });
  }

  /** Marks the email of the token's user verified; the token is used up. */
  async verify(token: string, client: ClientInfo): Promise<User> {
    const user = await this.verifications.transaction(async (tx) => {
      const verified = await this.verifications.consume(hashToken(token), tx);
      if (verified) {
        await this.audit.record(
          {
            type: 'email.verified',
            userId: verified.id,
            actorId: verified.id,
            client,
            metadata: { email: verified.email, via: 'link' },
          },
          tx,
        );
      }
      return verified;
    });
    if (!user) throw new AppError(ErrorCode.INVALID_OR_EXPIRED_TOKEN);
    return user;
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
