import { Module } from '@nestjs/common';
import { MailModule } from '../mail/mail.module.js';
import { MfaModule } from '../mfa/mfa.module.js';
import { RecoveryModule } from '../recovery/recovery.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { RetentionService } from './retention.service.js';

/**
 * The scheduled deletion of rows past their retention (AUDIT_RETENTION, EXPIRED_RETENTION),
 * each table through the repository of the module that owns it.
 */
@Module({
  imports: [SessionsModule, RecoveryModule, MailModule, MfaModule],
  providers: [RetentionService],
})
export class RetentionModule {}
