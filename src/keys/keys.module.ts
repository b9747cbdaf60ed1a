import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { JwksController } from './jwks.controller.js';
import { SigningKeys } from './signing-keys.js';

/**
 * The service's signing key: it signs access tokens (AuthModule), derives the keys of the
 * recovery codes and the identifier HMAC (RecoveryModule, AuditModule), and publishes its
 * public half at `/.well-known/jwks.json`.
 */
@Module({
  controllers: [JwksController],
  providers: [
    {
      provide: SigningKeys,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => SigningKeys.load(config.jwt.privateKeyPem, config.dataDir),
    },
  ],
  exports: [SigningKeys],
})
export class KeysModule {}
