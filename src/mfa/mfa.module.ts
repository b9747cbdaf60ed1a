import { Module } from '@nestjs/common';
import { KeysModule } from '../keys/keys.module.js';
import { MailModule } from '../mail/mail.module.js';
import { RateLimitModule } from '../rate-limit/rate-limit.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { UsersModule } from '../users/users.module.js';
import { MfaChallengesRepository } from './mfa-challenges.repository.js';
import { MfaAdminController, MfaController, MfaWebauthnController } from './mfa.controller.js';
import { PasskeysController } from './passkeys/passkeys.controller.js';
import { PasskeysRepository } from './passkeys/passkeys.repository.js';
import { WebauthnChallengesRepository } from './passkeys/webauthn-challenges.repository.js';
import { WebauthnService } from './passkeys/webauthn.service.js';
import { MfaCrypto } from './mfa-crypto.js';
import { MfaService } from './mfa.service.js';
import { RecoveryCodesRepository } from './recovery-codes.repository.js';
import { TotpFactorsRepository } from './totp-factors.repository.js';

/**
 * Second factors: TOTP authenticators, passkeys (WebAuthn), recovery codes and the
 * pending second step of a login. AuthModule completes the login (`POST /api/auth/mfa/verify`) through MfaService.
 */
@Module({
  imports: [KeysModule, UsersModule, SessionsModule, MailModule, RateLimitModule],
  controllers: [MfaController, MfaWebauthnController, PasskeysController, MfaAdminController],
  providers: [
    TotpFactorsRepository,
    RecoveryCodesRepository,
    MfaChallengesRepository,
    MfaCrypto,
    MfaService,
    PasskeysRepository,
    WebauthnChallengesRepository,
    WebauthnService,
  ],
  // The challenges for the retention cleanup.
  exports: [MfaService, MfaChallengesRepository, WebauthnChallengesRepository],
})
export class MfaModule {}
