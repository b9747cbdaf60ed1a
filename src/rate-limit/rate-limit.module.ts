import { Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import { AppConfig } from '../config/app-config.js';
import { LoginBackoffRepository } from './login-backoff.repository.js';
import { LoginBackoff } from './login-backoff.service.js';
import { RateLimitGuard } from './rate-limit.guard.js';
import { throttlerOptions } from './throttler-options.js';

/**
 * Abuse limits: per-route rate limits (`@RateLimit()`, counters in memory or Redis) and
 * the login backoff (counters in PostgreSQL).
 */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => throttlerOptions(config),
    }),
  ],
  providers: [
    LoginBackoffRepository,
    LoginBackoff,
    // A global guard (app.module.ts); its dependencies resolve here.
    RateLimitGuard,
  ],
  exports: [LoginBackoff, RateLimitGuard],
})
export class RateLimitModule {}
