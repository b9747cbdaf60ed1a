import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import { KeysModule } from '../keys/keys.module.js';
import { MfaModule } from '../mfa/mfa.module.js';
import { RateLimitModule } from '../rate-limit/rate-limit.module.js';
import { RecoveryModule } from '../recovery/recovery.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { UsersModule } from '../users/users.module.js';
import { AuthController } from './auth.controller.js';
import { AuthService } from './auth.service.js';
import { AccessTokenGuard } from './guards/access-token.guard.js';
import { RefreshTransport } from './refresh-transport.js';
import { JwtStrategy } from './strategies/jwt.strategy.js';
import { TokenService } from './token.service.js';

@Module({
  imports: [
    PassportModule,
    JwtModule.register({}),
    UsersModule,
    SessionsModule,
    RecoveryModule,
    KeysModule,
    MfaModule,
    RateLimitModule,
  ],
  controllers: [AuthController],
  providers: [
    AuthService,
    TokenService,
    RefreshTransport,
    JwtStrategy,
    // A global guard (app.module.ts); its dependencies resolve here.
    AccessTokenGuard,
  ],
  exports: [TokenService, AccessTokenGuard],
})
export class AuthModule {}
