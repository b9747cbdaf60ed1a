import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { AppError } from '../common/errors/app-error.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { AppConfig } from '../config/app-config.js';
import { LoginBackoffRepository } from './login-backoff.repository.js';
import {
  emailIdentifier,
  identifierHash,
  identifierKey,
  identifiersOf,
  type LoginIdentifier,
} from './login-identifier.js';
import { RefusalLog } from './refusal-log.js';

export type LoginAttempt =
  | {
      allowed: true;
      /** Attempts since the last success, this one included (0 when the backoff is off). */
      failures: number;
      /** Set when this attempt locked the identifier: for how long, should it fail. */
      lockedForSeconds: number | null;
    }
  | {
      allowed: false;
      retryAfterSeconds: number;
      /** True for the first refusal of this lock on this instance (worth an audit event). */
      firstRefusal: boolean;
    };

/** How often each instance drops counters that are forgotten anyway. */
const SWEEP_INTERVAL_MS = 10 * 60_000;

/**
 * Login backoff without enumeration: after LOGIN_BACKOFF_THRESHOLD consecutive failures for
 * an identifier (an email or a username, whether or not an account has it), its attempts
 * are refused for LOGIN_BACKOFF_DELAY, doubling with every further failure up to
 * LOGIN_BACKOFF_MAX_DELAY. A correct password, or a password reset, clears it. Counters
 * live in PostgreSQL, so every instance sees the same ones.
 */
@Injectable()
export class LoginBackoff implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(LoginBackoff.name);
  private readonly refusals = new RefusalLog();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly repository: LoginBackoffRepository,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    if (!this.rules.enabled) return;
    this.sweeper = setInterval(() => {
      this.repository.sweep(this.rules.resetAfterMs).catch((error: unknown) => {
        this.logger.warn({ err: error }, 'Could not sweep old login backoff counters');
      });
    }, SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }

  /** Counts an attempt for `identifier` before its password is checked, or refuses it. */
  async begin(identifier: LoginIdentifier): Promise<LoginAttempt> {
    if (!this.rules.enabled) return { allowed: true, failures: 0, lockedForSeconds: null };
    const keyHash = identifierHash(identifier);
    const counted = await this.repository.count(keyHash, this.rules);
    if (counted) return { allowed: true, ...counted };
    const retryAfterSeconds = await this.repository.secondsLocked(keyHash);
    return {
      allowed: false,
      retryAfterSeconds,
      firstRefusal: this.refusals.isFirst(identifierKey(identifier), retryAfterSeconds * 1000),
    };
  }

  /**
   * A check of the caller's current password (change-password, account deletion), under
   * the same counter as a login by the account's email: a wrong password counts as a
   * failed login, and a locked email is refused with 429 RATE_LIMITED and `Retry-After`
   * before the password is looked at, even a right one. A right password clears the
   * counter, as a successful login by that email does. Answers whether it was right.
   */
  async checkCurrentPassword(
    user: { email: string },
    check: () => Promise<boolean>,
  ): Promise<boolean> {
    const identifier = emailIdentifier(user.email);
    const attempt = await this.begin(identifier);
    if (!attempt.allowed) {
      throw new AppError(ErrorCode.RATE_LIMITED, undefined, undefined, {
        'retry-after': String(attempt.retryAfterSeconds),
      });
    }
    const valid = await check();
    if (valid) await this.succeeded(identifier);
    return valid;
  }

  /** After a correct password: the identifier starts from zero again. */
  succeeded(identifier: LoginIdentifier): Promise<void> {
    return this.clear([identifier]);
  }

  /**
   * The counters a correct password clears, for a caller that deletes them in its own
   * statement (the login); none when the backoff is off.
   */
  keysToClear(identifier: LoginIdentifier): Buffer[] {
    return this.rules.enabled ? [identifierHash(identifier)] : [];
  }

  /** After a password reset: every identifier of the account starts from zero again. */
  clearAccount(user: { email: string; username: string | null }): Promise<void> {
    return this.clear(identifiersOf(user));
  }

  private async clear(identifiers: LoginIdentifier[]): Promise<void> {
    if (!this.rules.enabled) return;
    await this.repository.clear(identifiers.map(identifierHash));
  }

  private get rules() {
    return this.config.loginBackoff;
  }
}
