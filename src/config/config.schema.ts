import { isIP } from 'node:net';
import { z } from 'zod';
import { parseDuration } from './duration.js';

/** Ten years: beyond that a session or token lifetime overflows PostgreSQL's timestamps. */
const LONGEST_DURATION = { ms: 3650 * 86_400_000, text: '3650d' };
/** Within what a Node.js timer can wait (2^31 - 1 ms, 24.8 days); longer ones fire at once. */
const LONGEST_TIMER = { ms: 24 * 86_400_000, text: '24d' };

const duration = (fallback: string, longest = LONGEST_DURATION, allowZero = false) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const ms = allowZero && /^\s*0[smhd]?\s*$/.test(text) ? 0 : parseDuration(text);
      if (ms === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `must be a duration such as 90s, 15m, 12h or 7d (got "${text}")`,
        });
        return z.NEVER;
      }
      if (ms > longest.ms) {
        ctx.addIssue({
          code: 'custom',
          message: `must be at most ${longest.text} (got "${text}")`,
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

/** `N/duration` (N requests per window, e.g. `30/5m`) or `off`: one rate limit. */
const rateLimit = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx): RateLimitSetting | null => {
      if (text.trim().toLowerCase() === 'off') return null;
      const match = /^\s*(\d+)\s*\/\s*(\S+)\s*$/.exec(text);
      const limit = match ? Number(match[1]) : NaN;
      const windowMs = match ? parseDuration(match[2]) : undefined;
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1_000_000 || !windowMs) {
        ctx.addIssue({
          code: 'custom',
          message: `must be "<requests>/<window>" such as 30/5m (1 to 1000000 requests) or off (got "${text}")`,
        });
        return z.NEVER;
      }
      return { limit, windowMs };
    });

export interface RateLimitSetting {
  /** Requests allowed per window; the next one is refused until the window ends. */
  readonly limit: number;
  readonly windowMs: number;
}

/** Named ranges that proxy-addr (Fastify's trust check) understands. */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/**
 * `false`, `true` (believe X-Forwarded-For whoever sends it: only behind a proxy that
 * overwrites the header), or the proxies to trust: a comma-separated list of IP addresses,
 * CIDR ranges or `loopback` / `linklocal` / `uniquelocal`. With a list, the client is the
 * nearest address in X-Forwarded-For that is not a trusted proxy.
 */
const trustProxy = () =>
  z
    .string()
    .default('false')
    .transform((text, ctx): boolean | string[] => {
      const value = text.trim().toLowerCase();
      if (value === 'true' || value === 'yes' || value === '1') return true;
      if (value === 'false' || value === 'no' || value === '0') return false;
      const entries = value.split(',').map((entry) => entry.trim());
      if (entries.every(isTrustedProxy)) return entries;
      ctx.addIssue({
        code: 'custom',
        message: `must be true, false, or a comma-separated list of proxy IP addresses, CIDR ranges, loopback, linklocal or uniquelocal (got "${text}")`,
      });
      return z.NEVER;
    });

function isTrustedProxy(entry: string): boolean {
  if (PROXY_RANGE_NAMES.includes(entry)) return true;
  const [address, prefix, ...rest] = entry.split('/');
  const version = isIP(address);
  if (!version || rest.length) return false;
  if (prefix === undefined) return true;
  const bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
  return bits >= 0 && bits <= (version === 4 ? 32 : 128);
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
  DATABASE_CONNECT_TIMEOUT: duration('5s', LONGEST_TIMER),
  DATABASE_STATEMENT_TIMEOUT: duration('10s', LONGEST_TIMER),
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT: duration('30s', LONGEST_TIMER),
  PGLITE_PORT: integer(0, 0, 65535),
  MIGRATIONS_RUN: boolean(true),
  REDIS_URL: url(['redis:', 'rediss:']),
  SMTP_URL: url(['smtp:', 'smtps:']),
  MAIL_FROM: z.string().default('Auth <no-reply@localhost>'),
  MAIL_POLL_INTERVAL: duration('1s', LONGEST_TIMER),
  JWT_PRIVATE_KEY: z.string().optional(),
  /** Flask-Security's SECURITY_PASSWORD_SALT, for imported `flask-security:` hashes (docs/migration.md). */
  FLASK_SECURITY_PASSWORD_SALT: z.string().optional(),
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
  RECOVERY_CODES_PER_HOUR: integer(5, 1, 1_000_000),
  CORS_ORIGINS: originList(),
  ADMIN_EMAIL: z.string().optional(),
  ADMIN_PASSWORD: z.string().optional(),
  TRUST_PROXY: trustProxy(),
  RATE_LIMIT_ENABLED: boolean(true),
  RATE_LIMIT_KEY_PREFIX: z
    .string()
    .default('authkit:rl:')
    .refine((text) => /^[\w:.{}-]{1,64}$/.test(text), {
      message: 'must be 1-64 characters of letters, digits, _ : . - { }',
    }),
  RATE_LIMIT_REGISTER_IP: rateLimit('30/5m'),
  RATE_LIMIT_REGISTER_ACCOUNT: rateLimit('5/1h'),
  RATE_LIMIT_LOGIN_IP: rateLimit('30/5m'),
  RATE_LIMIT_LOGIN_ACCOUNT: rateLimit('10/5m'),
  RATE_LIMIT_REFRESH_IP: rateLimit('150/5m'),
  RATE_LIMIT_FORGOT_PASSWORD_IP: rateLimit('10/15m'),
  RATE_LIMIT_FORGOT_PASSWORD_ACCOUNT: rateLimit('5/1h'),
  RATE_LIMIT_VERIFY_OTP_IP: rateLimit('30/5m'),
  RATE_LIMIT_VERIFY_OTP_ACCOUNT: rateLimit('10/15m'),
  RATE_LIMIT_RESEND_VERIFICATION_IP: rateLimit('10/15m'),
  RATE_LIMIT_RESEND_VERIFICATION_ACCOUNT: rateLimit('5/1h'),
  RATE_LIMIT_VERIFY_EMAIL_IP: rateLimit('30/5m'),
  RATE_LIMIT_CHANGE_PASSWORD_IP: rateLimit('30/15m'),
  RATE_LIMIT_CHANGE_PASSWORD_ACCOUNT: rateLimit('10/15m'),
  RATE_LIMIT_DELETE_ACCOUNT_IP: rateLimit('30/15m'),
  RATE_LIMIT_DELETE_ACCOUNT_ACCOUNT: rateLimit('10/15m'),
  RATE_LIMIT_RESET_PASSWORD_IP: rateLimit('30/15m'),
  RATE_LIMIT_RESET_PASSWORD_ACCOUNT: rateLimit('10/15m'),
  RATE_LIMIT_ADMIN_PASSWORD_IP: rateLimit('300/5m'),
  RATE_LIMIT_ADMIN_PASSWORD_ACCOUNT: rateLimit('100/5m'),
  RATE_LIMIT_MFA_VERIFY_IP: rateLimit('30/5m'),
  RATE_LIMIT_MFA_VERIFY_ACCOUNT: rateLimit('10/5m'),
  RATE_LIMIT_MFA_MANAGE_IP: rateLimit('30/15m'),
  RATE_LIMIT_MFA_MANAGE_ACCOUNT: rateLimit('10/15m'),
  RATE_LIMIT_REAUTHENTICATE_IP: rateLimit('30/15m'),
  RATE_LIMIT_REAUTHENTICATE_ACCOUNT: rateLimit('10/15m'),
  RATE_LIMIT_PASSKEY_LOGIN_IP: rateLimit('60/5m'),
  RATE_LIMIT_PASSKEY_LOGIN_ACCOUNT: rateLimit('10/5m'),
  MFA_POLICY: oneOf(['optional', 'required-for-admins', 'required'], 'optional'),
  REAUTH_MAX_AGE: duration('10m'),
  MFA_ISSUER: z
    .string()
    .default('authkit')
    .refine((text) => /^[^:\p{Cc}]{1,64}$/u.test(text), {
      message: 'must be 1-64 characters without a colon or control characters',
    }),
  WEBAUTHN_RP_ID: z
    .string()
    .optional()
    .refine((text) => text === undefined || /^(?=.{1,253}$)[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(text), {
      message: 'must be a lower-case host name such as example.com (no scheme, port or path)',
    }),
  WEBAUTHN_ORIGINS: originList(),
  WEBAUTHN_RP_NAME: z
    .string()
    .optional()
    .refine((text) => text === undefined || /^[^\p{Cc}]{1,64}$/u.test(text), {
      message: 'must be 1-64 characters without control characters',
    }),
  LOGIN_BACKOFF_ENABLED: boolean(true),
  LOGIN_BACKOFF_THRESHOLD: integer(5, 1, 1_000_000),
  LOGIN_BACKOFF_DELAY: duration('1m'),
  LOGIN_BACKOFF_MAX_DELAY: duration('15m'),
  LOGIN_BACKOFF_RESET: duration('12h'),
  LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
  ARGON2_MEMORY_COST: integer(19_456, 1024, 4_194_304),
  ARGON2_TIME_COST: integer(2, 1, 100),
  ARGON2_PARALLELISM: integer(1, 1, 64),
  ARGON2_CONCURRENCY: integer(0, 0, 1024),
  ARGON2_MAX_QUEUE: integer(0, 0, 1_000_000),
  BODY_LIMIT: integer(65_536, 1024, 10_485_760),
  SHUTDOWN_TIMEOUT: duration('10s', LONGEST_TIMER),
  SHUTDOWN_DELAY: duration('0s', LONGEST_TIMER, true),
  METRICS_ENABLED: boolean(true),
  THREADPOOL_NICENESS: integer(19, 0, 19),
  HOSTED_PAGES: boolean(true),
  AUDIT_RETENTION: duration('180d'),
  EXPIRED_RETENTION: duration('7d'),
  RETENTION_INTERVAL: duration('1h', LONGEST_TIMER),
});

export type Env = z.input<typeof envSchema>;
export type ParsedEnv = z.output<typeof envSchema>;
