import { Module } from '@nestjs/common';
import { KeysModule } from '../keys/keys.module.js';
import { MailModule } from '../mail/mail.module.js';
import { RateLimitModule } from '../rate-limit/rate-limit.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { UsersModule } from '../users/users.module.js';
import { MfaChallengesRepository } from './mfa-challenges.repository.js';
import { MfaAdminController, MfaController } from './mfa.controller.js';
import { MfaCrypto } from './mfa-crypto.js';
import { MfaService } from './mfa.service.js';
import { RecoveryCodesRepository } from './recovery-codes.repository.js';
import { TotpFactorsRepository } from './totp-factors.repository.js';

/**
 * Second factors: TOTP authenticators, recovery codes and the pending second step of a
 * login. AuthModule completes the login (`POST /api/auth/mfa/verify`) through MfaService.
 */
@Module({
  imports: [KeysModule, UsersModule, SessionsModule, MailModule, RateLimitModule],
  controllers: [MfaController, MfaAdminController],
  providers: [
    TotpFactorsRepository,
    RecoveryCodesRepository,
    MfaChallengesRepository,
    MfaCrypto,
    MfaService,
  ],
  // The challenges for the retention cleanup.
  exports: [MfaService, MfaChallengesRepository],
})
export class MfaModule {}
