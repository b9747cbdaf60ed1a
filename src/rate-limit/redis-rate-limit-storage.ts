import { Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { Redis } from 'ioredis';

type StorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/** What a counter answers while Redis is unreachable: nothing is refused. */
const NOT_COUNTED: StorageRecord = {
  totalHits: 0,
  timeToExpire: 0,
  isBlocked: false,
  timeToBlockExpire: 0,
};

/** At most one warning per this period while Redis fails. */
const WARNING_INTERVAL_MS = 30_000;

/**
 * Rate-limit counters in Redis (`@nest-lab/throttler-storage-redis`: one atomic Lua script
 * per hit), shared by every instance that uses the same REDIS_URL and
 * RATE_LIMIT_KEY_PREFIX. Start-up fails when Redis cannot be reached (a wrong REDIS_URL
 * should be noticed at once); later outages fail open, with a warning: the service keeps
 * logging people in, and the login backoff, which lives in PostgreSQL, still holds.
 */
export class RedisRateLimitStorage
  implements ThrottlerStorage, OnModuleInit, OnApplicationShutdown
{
  private readonly logger = new Logger('RateLimit');
  private readonly redis: Redis;
  private readonly counters: ThrottlerStorageRedisService;
  private lastWarningAt = 0;
  private lastError: Error | undefined;
  private started = false;

  constructor(url: string, keyPrefix: string) {
    this.redis = new Redis(url, {
      keyPrefix,
      lazyConnect: true,
      // A hit must not wait long for an unreachable Redis: one retry, one second.
      maxRetriesPerRequest: 1,
      commandTimeout: 1_000,
      connectTimeout: 5_000,
    });
    this.redis.on('error', (error: Error) => {
      this.lastError = error;
      if (this.started) this.warn(error);
    });
    this.counters = new ThrottlerStorageRedisService(this.redis);
  }

  async onModuleInit(): Promise<void> {
    try {
      await this.redis.connect();
      await this.redis.ping();
    } catch (error) {
      this.redis.disconnect();
      const cause = this.lastError ?? (error as Error);
      throw new Error(
        `REDIS_URL: cannot reach Redis for the rate-limit counters (${cause.message})`,
        { cause: error },
      );
    }
    this.started = true;
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.redis.status === 'end') return;
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<StorageRecord> {
    try {
      return await this.counters.increment(key, ttl, limit, blockDuration, throttlerName);
    } catch (error) {
      this.warn(error as Error);
      return NOT_COUNTED;
    }
  }

  private warn(error: Error): void {
    const now = Date.now();
    if (now - this.lastWarningAt < WARNING_INTERVAL_MS) return;
    this.lastWarningAt = now;
    this.logger.warn(
      { err: { message: error.message } },
      'Redis is unavailable: rate limits are not enforced until it is back',
    );
  }
}
