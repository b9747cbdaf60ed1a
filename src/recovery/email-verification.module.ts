import { Module } from '@nestjs/common';
import { MailModule } from '../mail/mail.module.js';
import { UsersModule } from '../users/users.module.js';
import { EmailVerificationController } from './email-verification.controller.js';
import { EmailVerificationService } from './email-verification.service.js';
import { EmailVerificationsRepository } from './email-verifications.repository.js';

/**
 * Email verification. Separate from RecoveryModule because AuthModule needs it (registration
 * queues the first link) while RecoveryModule needs AuthModule (the signing key).
 */
@Module({
  imports: [MailModule, UsersModule],
  controllers: [EmailVerificationController],
  providers: [EmailVerificationsRepository, EmailVerificationService],
  exports: [EmailVerificationService, EmailVerificationsRepository],
})
export class EmailVerificationModule {}
