import { z } from 'zod';
import { parseDuration } from './duration.js';

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `must be a duration such as 90s, 15m, 12h or 7d (got "${text}")`,
        });
        return z.NEVER;
      }
      return ms;
    });

const boolean = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], {
      error: (issue) => `must be true or false (got "${String(issue.input)}")`,
    })
    .optional()
    .transform((text) => (text === undefined ? fallback : ['true', '1', 'yes'].includes(text)));

const integer = (fallback: number, min: number, max: number) =>
  z
    .string()
    .default(String(fallback))
    .transform((text, ctx) => {
      const value = /^\d+$/.test(text.trim()) ? Number(text) : NaN;
      if (!Number.isSafeInteger(value) || value < min || value > max) {
        ctx.addIssue({
          code: 'custom',
          message: `must be a whole number from ${min} to ${max} (got "${text}")`,
        });
        return z.NEVER;
      }
      return value;
    });

const url = (protocols: string[]) =>
  z
    .string()
    .optional()
    .refine((text) => text === undefined || isUrl(text, protocols), {
      message: `must be a URL (${protocols.map((p) => p + '//').join(', ')})`,
    });

function isUrl(text: string, protocols: string[]): boolean {
  try {
    return protocols.includes(new URL(text).protocol);
  } catch {
    return false;
  }
}

/**
 * A comma-separated list of exact browser origins (`scheme://host[:port]`), normalized the
 * way browsers serialize the `Origin` header (lower-case host, no default port, no
 * trailing slash). Wildcards, paths and anything that is not an http(s) origin are refused.
 */
const originList = () =>
  z
    .string()
    .optional()
    .transform((text, ctx) => {
      const origins: string[] = [];
      for (const entry of (text ?? '').split(',').map((item) => item.trim())) {
        if (!entry) continue;
        const origin = exactOrigin(entry);
        if (!origin) {
          ctx.addIssue({
            code: 'custom',
            message: `must list exact origins such as https://app.example.com, comma-separated; "*" and paths are refused (got "${entry}")`,
          });
          return z.NEVER;
        }
        if (!origins.includes(origin)) origins.push(origin);
      }
      return origins;
    });

function exactOrigin(text: string): string | undefined {
  try {
    const url = new URL(text);
    const bare =
      ['http:', 'https:'].includes(url.protocol) &&
      !url.username &&
      !url.password &&
      url.pathname === '/' &&
      !url.search &&
      !url.hash &&
      !text.includes('*');
    return bare ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

const oneOf = <T extends string>(values: readonly [T, ...T[]], fallback: T) =>
  z
    .enum(values, {
      error: (i) => `must be one of ${values.join(', ')} (got "${String(i.input)}")`,
    })
    .default(fallback);

/**
 * Every environment variable the service reads. Empty strings count as unset, so a
 * `.env` line such as `SMTP_URL=` keeps the default.
 */
export const envSchema = z.object({
  NODE_ENV: oneOf(['development', 'production', 'test'], 'development'),
  PORT: integer(3000, 0, 65535),
  HOST: z.string().default('127.0.0.1'),
  PUBLIC_URL: url(['http:', 'https:']),
  APP_URL: url(['http:', 'https:']),
  DATA_DIR: z.string().default('.data'),
  DATABASE_URL: url(['postgres:', 'postgresql:']),
  DATABASE_POOL_SIZE: integer(10, 1, 200),
  PGLITE_PORT: integer(0, 0, 65535),
  MIGRATIONS_RUN: boolean(true),
  REDIS_URL: url(['redis:', 'rediss:']),
  SMTP_URL: url(['smtp:', 'smtps:']),
  MAIL_FROM: z.string().default('Auth <no-reply@localhost>'),
  MAIL_POLL_INTERVAL: duration('1s'),
  JWT_PRIVATE_KEY: z.string().optional(),
  JWT_ISSUER: z.string().optional(),
  JWT_AUDIENCE: z.string().optional(),
  ACCESS_TOKEN_TTL: duration('15m'),
  REFRESH_TOKEN_TTL: duration('7d'),
  SESSION_MAX_AGE: duration('30d'),
  REFRESH_REUSE_GRACE: duration('10s'),
  REFRESH_TOKEN_TRANSPORT: oneOf(['body', 'cookie'], 'body'),
  COOKIE_SECURE: boolean(true),
  EMAIL_VERIFICATION: oneOf(['optional', 'required'], 'optional'),
  EMAIL_VERIFICATION_TTL: duration('24h'),
  RECOVERY_TOKEN_TTL: duration('15m'),
  OTP_MAX_ATTEMPTS: integer(5, 1, 100),
  CORS_ORIGINS: originList(),
  ADMIN_EMAIL: z.string().optional(),
  ADMIN_PASSWORD: z.string().optional(),
  TRUST_PROXY: boolean(false),
  LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
  ARGON2_MEMORY_COST: integer(19_456, 1024, 4_194_304),
  ARGON2_TIME_COST: integer(2, 1, 100),
  ARGON2_PARALLELISM: integer(1, 1, 64),
  BODY_LIMIT: integer(65_536, 1024, 10_485_760),
  SHUTDOWN_TIMEOUT: duration('10s'),
  METRICS_ENABLED: boolean(true),
  THREADPOOL_NICENESS: integer(10, 0, 19),
  HOSTED_PAGES: boolean(true),
});

export type Env = z.input<typeof envSchema>;
export type ParsedEnv = z.output<typeof envSchema>;
