import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { envSchema, type ParsedEnv, type RateLimitSetting } from './config.schema.js';

/** Thrown when the environment is invalid; its message is the one line printed at start-up. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * The validated, typed configuration. It is also the injection token: services ask for
 * `AppConfig` in their constructor.
 */
export class AppConfig {
  readonly env!: ParsedEnv['NODE_ENV'];
  readonly isProduction!: boolean;
  readonly port!: number;
  readonly host!: string;
  readonly publicUrl!: string;
  readonly appUrl!: string;
  /** Second factors: the issuer name authenticator apps show (MFA_ISSUER). */
  readonly mfa!: {
    readonly issuer: string;
    /** Who must have a second factor (MFA_POLICY). */
    readonly policy: 'optional' | 'required-for-admins' | 'required';
    /** How recent a session's authentication must be for sensitive writes (REAUTH_MAX_AGE). */
    readonly reauthMaxAgeMs: number;
  };
  /** Passkeys: the relying party (WEBAUTHN_RP_ID, WEBAUTHN_RP_NAME, WEBAUTHN_ORIGINS). */
  readonly webauthn!: {
    readonly rpId: string;
    readonly rpName: string;
    /** The page origins an assertion may come from. */
    readonly origins: readonly string[];
  };
  readonly dataDir!: string;
  readonly database!: {
    /** Unset: the embedded PGlite database under `dataDir` is used. */
    readonly url: string | undefined;
    readonly poolSize: number;
    /** Longest wait for a pooled connection, a new connection included. */
    readonly connectTimeoutMs: number;
    /** `statement_timeout`; the client gives up on a silent server one second later. */
    readonly statementTimeoutMs: number;
    /** A transaction idle longer than this is ended (PostgreSQL, and the embedded bridge). */
    readonly idleInTransactionTimeoutMs: number;
    readonly embeddedPort: number;
    readonly migrationsRun: boolean;
  };
  readonly redisUrl!: string | undefined;
  readonly mail!: {
    readonly smtpUrl: string | undefined;
    readonly from: string;
    /** How often each instance's outbox worker looks for due messages. */
    readonly pollIntervalMs: number;
  };
  readonly jwt!: {
    readonly privateKeyPem: string | undefined;
    readonly issuer: string;
    readonly audience: string;
    readonly accessTokenTtlMs: number;
  };
  readonly session!: {
    readonly refreshTokenTtlMs: number;
    readonly maxAgeMs: number;
    readonly reuseGraceMs: number;
    readonly transport: 'body' | 'cookie';
    readonly cookieSecure: boolean;
  };
  readonly emailVerification!: 'optional' | 'required';
  /** Lifetime of the link in a verification email. */
  readonly emailVerificationTtlMs!: number;
  readonly recovery!: {
    readonly tokenTtlMs: number;
    readonly otpMaxAttempts: number;
    /** Recovery emails (link and code) one email address is sent per hour, at most. */
    readonly codesPerHour: number;
  };
  readonly corsOrigins!: readonly string[];
  readonly admin!: { readonly email: string | undefined; readonly password: string | undefined };
  /**
   * Whether `X-Forwarded-For` is believed, as Fastify takes it: `true` (from anyone), or
   * only from these proxy addresses/ranges.
   */
  readonly trustProxy!: boolean | readonly string[];
  readonly rateLimit!: {
    readonly enabled: boolean;
    /** Prefix of every counter key in Redis: one per deployment, shared by its instances. */
    readonly keyPrefix: string;
    /** Per route: the limit per client IP and, where the body names an account, per account. */
    readonly routes: Readonly<Record<RateLimitedRoute, RouteRateLimits>>;
  };
  readonly loginBackoff!: {
    readonly enabled: boolean;
    /** Consecutive failures of one identifier before its attempts are refused. */
    readonly threshold: number;
    /** The first refusal period; each further failure doubles it, up to `maxDelayMs`. */
    readonly delayMs: number;
    readonly maxDelayMs: number;
    /** Failures older than this (with no attempt since) are forgotten. */
    readonly resetAfterMs: number;
  };
  readonly logLevel!: ParsedEnv['LOG_LEVEL'];
  readonly argon2!: {
    readonly memoryCost: number;
    readonly timeCost: number;
    readonly parallelism: number;
    /**
     * Hashes and verifies running at once (the others wait their turn): by default the
     * number of cores, and always fewer than libuv's thread pool, so a login storm never
     * takes every pool thread from file and DNS work.
     */
    readonly concurrency: number;
    /**
     * Hashes that may wait for a slot; one more is refused at once with 503 and
     * `Retry-After` (ARGON2_MAX_QUEUE, by default 32 per slot and at least 64).
     */
    readonly maxQueue: number;
  };
  /** Secrets that imported legacy hashes need (docs/migration.md); never stored in rows. */
  readonly legacyHashes!: {
    /** Flask-Security's `SECURITY_PASSWORD_SALT` (FLASK_SECURITY_PASSWORD_SALT). */
    readonly flaskSecuritySalt: string | undefined;
  };
  readonly bodyLimit!: number;
  readonly shutdownTimeoutMs!: number;
  /** After SIGTERM: readiness fails at once, requests are still served this long, then the drain. */
  readonly shutdownDelayMs!: number;
  readonly metricsEnabled!: boolean;
  /** Nice value of libuv's thread pool (argon2) on Linux; 0 leaves it alone. */
  readonly threadPoolNiceness!: number;
  /** Serve the sign-in, sign-up, recovery, account and admin pages (`/login`, ...). */
  readonly hostedPages!: boolean;
  /** The scheduled cleanup of old rows (see `src/retention/`). */
  readonly retention!: {
    /** Audit events older than this are deleted. */
    readonly auditMs: number;
    /**
     * Ended sessions (with their refresh tokens), expired or used recovery and
     * verification rows, and sent or abandoned outbox messages are kept this long.
     */
    readonly expiredMs: number;
    /** How often each instance runs the cleanup. */
    readonly intervalMs: number;
  };
}

/** The routes with rate limits (see `RATE_LIMIT_*`). */
export const RATE_LIMITED_ROUTES = [
  'register',
  'login',
  'refresh',
  'forgotPassword',
  'verifyOtp',
  'resendVerification',
  'verifyEmail',
  'changePassword',
  'deleteAccount',
  'resetPassword',
  'adminPassword',
  'mfaVerify',
  'mfaManage',
  'reauthenticate',
  'passkeyLogin',
] as const;
export type RateLimitedRoute = (typeof RATE_LIMITED_ROUTES)[number];

/** `null` when that limit is `off` (or the route names no account). */
export interface RouteRateLimits {
  readonly ip: RateLimitSetting | null;
  readonly account: RateLimitSetting | null;
}

/**
 * Reads and validates the environment. Throws a `ConfigError` naming the first bad
 * variable and what it expects.
 */
/**
 * `ARGON2_CONCURRENCY`, or by default (0) one per core; at most the size of libuv's thread
 * pool (`UV_THREADPOOL_SIZE`, 4 unless set) less one, and at least one.
 */
function argon2Concurrency(configured: number, threadPoolSize: string | undefined): number {
  const pool = Number(threadPoolSize) > 0 ? Math.floor(Number(threadPoolSize)) : 4;
  const wanted = configured > 0 ? configured : availableParallelism();
  return Math.max(1, Math.min(wanted, pool - 1));
}

/** Waiting hashes allowed per running one when ARGON2_MAX_QUEUE is 0 (the default). */
export const ARGON2_QUEUE_PER_SLOT = 32;
export const ARGON2_MIN_DEFAULT_QUEUE = 64;

function argon2Settings(env: ParsedEnv, threadPoolSize: string | undefined): AppConfig['argon2'] {
  const concurrency = argon2Concurrency(env.ARGON2_CONCURRENCY, threadPoolSize);
  return {
    memoryCost: env.ARGON2_MEMORY_COST,
    timeCost: env.ARGON2_TIME_COST,
    parallelism: env.ARGON2_PARALLELISM,
    concurrency,
    maxQueue:
      env.ARGON2_MAX_QUEUE ||
      Math.max(ARGON2_MIN_DEFAULT_QUEUE, ARGON2_QUEUE_PER_SLOT * concurrency),
  };
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): AppConfig {
  const raw = Object.fromEntries(
    Object.keys(envSchema.shape).map((key) => [key, emptyToUndefined(source[key])]),
  );
  const parsed = envSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`Invalid configuration: ${issue.path.join('.')} ${issue.message}`);
  }
  const env = parsed.data;
  const publicUrl = trimSlash(env.PUBLIC_URL ?? `http://localhost:${env.PORT}`);
  const config: AppConfig = {
    env: env.NODE_ENV,
    isProduction: env.NODE_ENV === 'production',
    port: env.PORT,
    host: env.HOST,
    publicUrl,
    appUrl: trimSlash(env.APP_URL ?? publicUrl),
    mfa: { issuer: env.MFA_ISSUER, policy: env.MFA_POLICY, reauthMaxAgeMs: env.REAUTH_MAX_AGE },
    webauthn: {
      rpId: env.WEBAUTHN_RP_ID ?? new URL(publicUrl).hostname,
      rpName: env.WEBAUTHN_RP_NAME ?? env.MFA_ISSUER,
      origins: env.WEBAUTHN_ORIGINS.length > 0 ? env.WEBAUTHN_ORIGINS : [new URL(publicUrl).origin],
    },
    dataDir: resolve(env.DATA_DIR),
    database: {
      url: env.DATABASE_URL,
      poolSize: env.DATABASE_POOL_SIZE,
      connectTimeoutMs: env.DATABASE_CONNECT_TIMEOUT,
      statementTimeoutMs: env.DATABASE_STATEMENT_TIMEOUT,
      idleInTransactionTimeoutMs: env.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT,
      embeddedPort: env.PGLITE_PORT,
      migrationsRun: env.MIGRATIONS_RUN,
    },
    redisUrl: env.REDIS_URL,
    mail: { smtpUrl: env.SMTP_URL, from: env.MAIL_FROM, pollIntervalMs: env.MAIL_POLL_INTERVAL },
    jwt: {
      privateKeyPem: env.JWT_PRIVATE_KEY?.replace(/\\n/g, '\n'),
      issuer: env.JWT_ISSUER ?? publicUrl,
      audience: env.JWT_AUDIENCE ?? publicUrl,
      accessTokenTtlMs: env.ACCESS_TOKEN_TTL,
    },
    session: {
      refreshTokenTtlMs: env.REFRESH_TOKEN_TTL,
      maxAgeMs: env.SESSION_MAX_AGE,
      reuseGraceMs: env.REFRESH_REUSE_GRACE,
      transport: env.REFRESH_TOKEN_TRANSPORT,
      cookieSecure: env.COOKIE_SECURE,
    },
    emailVerification: env.EMAIL_VERIFICATION,
    emailVerificationTtlMs: env.EMAIL_VERIFICATION_TTL,
    recovery: {
      tokenTtlMs: env.RECOVERY_TOKEN_TTL,
      otpMaxAttempts: env.OTP_MAX_ATTEMPTS,
      codesPerHour: env.RECOVERY_CODES_PER_HOUR,
    },
    corsOrigins: env.CORS_ORIGINS,
    admin: { email: env.ADMIN_EMAIL, password: env.ADMIN_PASSWORD },
    trustProxy: env.TRUST_PROXY,
    rateLimit: {
      enabled: env.RATE_LIMIT_ENABLED,
      keyPrefix: env.RATE_LIMIT_KEY_PREFIX,
      routes: {
        register: { ip: env.RATE_LIMIT_REGISTER_IP, account: env.RATE_LIMIT_REGISTER_ACCOUNT },
        login: { ip: env.RATE_LIMIT_LOGIN_IP, account: env.RATE_LIMIT_LOGIN_ACCOUNT },
        refresh: { ip: env.RATE_LIMIT_REFRESH_IP, account: null },
        forgotPassword: {
          ip: env.RATE_LIMIT_FORGOT_PASSWORD_IP,
          account: env.RATE_LIMIT_FORGOT_PASSWORD_ACCOUNT,
        },
        verifyOtp: { ip: env.RATE_LIMIT_VERIFY_OTP_IP, account: env.RATE_LIMIT_VERIFY_OTP_ACCOUNT },
        resendVerification: {
          ip: env.RATE_LIMIT_RESEND_VERIFICATION_IP,
          account: env.RATE_LIMIT_RESEND_VERIFICATION_ACCOUNT,
        },
        verifyEmail: { ip: env.RATE_LIMIT_VERIFY_EMAIL_IP, account: null },
        changePassword: {
          ip: env.RATE_LIMIT_CHANGE_PASSWORD_IP,
          account: env.RATE_LIMIT_CHANGE_PASSWORD_ACCOUNT,
        },
        mfaVerify: { ip: env.RATE_LIMIT_MFA_VERIFY_IP, account: env.RATE_LIMIT_MFA_VERIFY_ACCOUNT },
        mfaManage: { ip: env.RATE_LIMIT_MFA_MANAGE_IP, account: env.RATE_LIMIT_MFA_MANAGE_ACCOUNT },
        reauthenticate: {
          ip: env.RATE_LIMIT_REAUTHENTICATE_IP,
          account: env.RATE_LIMIT_REAUTHENTICATE_ACCOUNT,
        },
        passkeyLogin: {
          ip: env.RATE_LIMIT_PASSKEY_LOGIN_IP,
          account: env.RATE_LIMIT_PASSKEY_LOGIN_ACCOUNT,
        },
        deleteAccount: {
          ip: env.RATE_LIMIT_DELETE_ACCOUNT_IP,
          account: env.RATE_LIMIT_DELETE_ACCOUNT_ACCOUNT,
        },
        resetPassword: {
          ip: env.RATE_LIMIT_RESET_PASSWORD_IP,
          account: env.RATE_LIMIT_RESET_PASSWORD_ACCOUNT,
        },
        adminPassword: {
          ip: env.RATE_LIMIT_ADMIN_PASSWORD_IP,
          account: env.RATE_LIMIT_ADMIN_PASSWORD_ACCOUNT,
        },
      },
    },
    loginBackoff: {
      enabled: env.LOGIN_BACKOFF_ENABLED,
      threshold: env.LOGIN_BACKOFF_THRESHOLD,
      delayMs: env.LOGIN_BACKOFF_DELAY,
      maxDelayMs: env.LOGIN_BACKOFF_MAX_DELAY,
      resetAfterMs: env.LOGIN_BACKOFF_RESET,
    },
    logLevel: env.LOG_LEVEL,
    argon2: argon2Settings(env, source.UV_THREADPOOL_SIZE),
    legacyHashes: { flaskSecuritySalt: env.FLASK_SECURITY_PASSWORD_SALT || undefined },
    bodyLimit: env.BODY_LIMIT,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT,
    shutdownDelayMs: env.SHUTDOWN_DELAY,
    metricsEnabled: env.METRICS_ENABLED,
    threadPoolNiceness: env.THREADPOOL_NICENESS,
    hostedPages: env.HOSTED_PAGES,
    retention: {
      auditMs: env.AUDIT_RETENTION,
      expiredMs: env.EXPIRED_RETENTION,
      intervalMs: env.RETENTION_INTERVAL,
    },
  };
  checkConsistency(config);
  checkProductionRules(config);
  return Object.freeze(config);
}

function checkConsistency(config: AppConfig): void {
  if (config.loginBackoff.maxDelayMs < config.loginBackoff.delayMs) {
    throw new ConfigError(
      'Invalid configuration: LOGIN_BACKOFF_MAX_DELAY must not be shorter than LOGIN_BACKOFF_DELAY',
    );
  }
}

function checkProductionRules(config: AppConfig): void {
  if (!config.isProduction) return;
  if (!config.database.url) {
    throw new ConfigError(
      'Invalid configuration: DATABASE_URL is required when NODE_ENV=production; the embedded PGlite database is for development and trials only (one process, no replication, no backups)',
    );
  }
  if (!config.jwt.privateKeyPem) {
    throw new ConfigError(
      'Invalid configuration: JWT_PRIVATE_KEY is required when NODE_ENV=production (a PEM-encoded EC P-256 private key); generated keys are for development only',
    );
  }
}

function emptyToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
