import { Module } from '@nestjs/common';
import { KeysModule } from '../keys/keys.module.js';
import { MailModule } from '../mail/mail.module.js';
import { RateLimitModule } from '../rate-limit/rate-limit.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { UsersModule } from '../users/users.module.js';
import { CodeHasher } from './code-hasher.js';
import { EmailVerificationController } from './email-verification.controller.js';
import { EmailVerificationService } from './email-verification.service.js';
import { EmailVerificationsRepository } from './email-verifications.repository.js';
import { PasswordResetsRepository } from './password-resets.repository.js';
import { RecoveryController } from './recovery.controller.js';
import { RecoveryRequestsRepository } from './recovery-requests.repository.js';
import { RecoveryService } from './recovery.service.js';

/**
 * What an emailed link or code proves: password recovery (forgot/reset) and email
 * verification. The codes are keyed by the signing key (KeysModule).
 */
@Module({
  imports: [KeysModule, UsersModule, SessionsModule, MailModule, RateLimitModule],
  controllers: [RecoveryController, EmailVerificationController],
  providers: [
    PasswordResetsRepository,
    RecoveryRequestsRepository,
    EmailVerificationsRepository,
    CodeHasher,
    RecoveryService,
    EmailVerificationService,
  ],
  exports: [
    // Registration queues the first verification link (AuthModule).
    EmailVerificationService,
    // For the retention cleanup.
    PasswordResetsRepository,
    EmailVerificationsRepository,
  ],
})
export class RecoveryModule {}
