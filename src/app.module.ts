import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { AuditModule } from './audit/audit.module.js';
import { AuthModule } from './auth/auth.module.js';
import { AccessTokenGuard } from './auth/guards/access-token.guard.js';
import { RecentAuthGuard } from './auth/guards/recent-auth.guard.js';
import { ProblemFilter } from './common/errors/problem.filter.js';
import { RolesGuard } from './common/guards/roles.guard.js';
import type { AppConfig } from './config/app-config.js';
import { ConfigModule } from './config/config.module.js';
import { DatabaseModule } from './database/database.module.js';
import { HealthModule } from './health/health.module.js';
import { KeysModule } from './keys/keys.module.js';
import { LoggingModule } from './logging/logging.module.js';
import { MailModule } from './mail/mail.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { RateLimitModule } from './rate-limit/rate-limit.module.js';
import { RateLimitGuard } from './rate-limit/rate-limit.guard.js';
import { RecoveryModule } from './recovery/recovery.module.js';
import { RetentionModule } from './retention/retention.module.js';
import { SessionsModule } from './sessions/sessions.module.js';
import { UsersModule } from './users/users.module.js';

@Module({})
export class AppModule {
  /** `databaseUrl` is `config.database.url`, or the embedded database started by `main.ts`. */
  static forRoot(config: AppConfig, databaseUrl: string): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule,
        MetricsModule.forRoot(config.metricsEnabled),
        DatabaseModule.forRoot(databaseUrl),
        KeysModule,
        AuditModule,
        RateLimitModule,
        SessionsModule,
        UsersModule,
        AuthModule,
        MailModule,
        RecoveryModule,
        HealthModule,
        RetentionModule,
      ],
      providers: [
        { provide: APP_FILTER, useClass: ProblemFilter },
        // The global guards, in the order they run: the per-IP and per-account limits of
        // anonymous routes (before any work, so a flood is refused cheaply), then the access
        // token (sets the principal; `@Public()` routes pass), then `@Roles()`, then
        // `@RequiresRecentAuth()` (step-up). Limits on
        // routes whose account is the caller run after these, as route guards (RateLimit).
        { provide: APP_GUARD, useExisting: RateLimitGuard },
        { provide: APP_GUARD, useExisting: AccessTokenGuard },
        { provide: APP_GUARD, useClass: RolesGuard },
        { provide: APP_GUARD, useClass: RecentAuthGuard },
      ],
    };
  }
}
