import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { MailModule } from '../mail/mail.module.js';
import { RateLimitModule } from '../rate-limit/rate-limit.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { UsersModule } from '../users/users.module.js';
import { CodeHasher } from './code-hasher.js';
import { EmailVerificationModule } from './email-verification.module.js';
import { PasswordResetsRepository } from './password-resets.repository.js';
import { RecoveryController } from './recovery.controller.js';
import { RecoveryRequestsRepository } from './recovery-requests.repository.js';
import { RecoveryService } from './recovery.service.js';

/** Password recovery by emailed link or code. AuthModule provides the signing key. */
@Module({
  imports: [
    AuthModule,
    UsersModule,
    SessionsModule,
    MailModule,
    EmailVerificationModule,
    RateLimitModule,
  ],
  controllers: [RecoveryController],
  providers: [PasswordResetsRepository, RecoveryRequestsRepository, CodeHasher, RecoveryService],
  // For the retention cleanup.
  exports: [PasswordResetsRepository],
})
export class RecoveryModule {}
