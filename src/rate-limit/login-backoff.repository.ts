import { Injectable } from '@nestjs/common';
import { TransactionHost } from '@nestjs-cls/transactional';
import type { TypeOrmTx } from '../database/transactions.js';
import { LoginBackoff } from './entities/login-backoff.entity.js';

export interface BackoffRules {
  threshold: number;
  delayMs: number;
  maxDelayMs: number;
  resetAfterMs: number;
}

export interface CountedAttempt {
  /** Attempts since the last success, this one included. */
  failures: number;
  /** Set when this attempt locked the identifier: how long, if it fails. */
  lockedForSeconds: number | null;
}

/**
 * Clears the counters of the identifiers in the `bytea[]` parameter `keysParam`: the
 * fragment a successful login embeds in its one statement (SessionsRepository).
 */
export function backoffClearSql(keysParam: string): string {
  return `DELETE FROM login_backoff WHERE key_hash = ANY(${keysParam}::bytea[])`;
}

/** `login_backoff`. */
@Injectable()
export class LoginBackoffRepository {
  constructor(private readonly txHost: TransactionHost<TypeOrmTx>) {}

  /** The open transaction's manager, or the data source's outside one. */
  private get db() {
    return this.txHost.tx;
  }

  /**
   * Counts an attempt before its password is checked, in one atomic statement, unless the
   * identifier is locked (then `undefined`). The attempt that reaches the threshold sets
   * the lock at once: concurrent attempts cannot slip past it while passwords are being
   * hashed, and a success lifts it again (`clear`). The lock lasts `delayMs`, doubled for
   * every failure past the threshold, at most `maxDelayMs`; failures are forgotten after
   * `resetAfterMs` without an attempt. Hand-written: an upsert whose update depends on the
   * row (TypeORM's `orUpdate` sets fixed values); it runs once per login attempt (bench:
   * login / raw argon2 verifies).
   */
  async count(keyHash: Buffer, rules: BackoffRules): Promise<CountedAttempt | undefined> {
    const rows: { failures: number; locked_for_seconds: number | null }[] = await this.db.query(
      `INSERT INTO login_backoff AS b (key_hash, failures, last_attempt_at, locked_until)
         VALUES ($1, 1, now(),
                 CASE WHEN 1 >= $2::int THEN now() + $3::float8 * interval '1 millisecond' END)
         ON CONFLICT (key_hash) DO UPDATE
            SET (failures, last_attempt_at, locked_until) = (
                  SELECT next.failures, now(),
                         CASE WHEN next.failures >= $2::int
                              THEN now() + LEAST($3::float8 * power(2, LEAST(next.failures - $2::int, 30)),
                                                 $4::float8) * interval '1 millisecond'
                         END
                    FROM (SELECT CASE WHEN b.last_attempt_at <= now() - $5::float8 * interval '1 millisecond'
                                      THEN 1 ELSE b.failures + 1 END AS failures) next)
          WHERE b.locked_until IS NULL OR b.locked_until <= now()
         RETURNING failures, CEIL(EXTRACT(EPOCH FROM locked_until - now()))::int AS locked_for_seconds`,
      [keyHash, rules.threshold, rules.delayMs, rules.maxDelayMs, rules.resetAfterMs],
    );
    const row = rows[0];
    return row ? { failures: row.failures, lockedForSeconds: row.locked_for_seconds } : undefined;
  }

  /** Whole seconds until the lock ends (at least 1: it may end while we answer). */
  async secondsLocked(keyHash: Buffer): Promise<number> {
    const row = await this.db
      .getRepository(LoginBackoff)
      .createQueryBuilder('b')
      .select(`CEIL(EXTRACT(EPOCH FROM b.lockedUntil - now()))::int`, 'seconds')
      .where('b.keyHash = :keyHash', { keyHash })
      .getRawOne<{ seconds: number | null }>();
    return Math.max(1, row?.seconds ?? 1);
  }

  /** In the caller's transaction, if any (a password reset clears the account's counters). */
  async clear(keyHashes: Buffer[]): Promise<void> {
    await this.db
      .createQueryBuilder()
      .delete()
      .from(LoginBackoff)
      .where('key_hash = ANY(:keyHashes)', { keyHashes })
      .execute();
  }

  /** Drops counters that nobody has touched for `olderThanMs` and that lock nothing. */
  async sweep(olderThanMs: number): Promise<number> {
    const result = await this.db
      .createQueryBuilder()
      .delete()
      .from(LoginBackoff)
      .where(`last_attempt_at < now() - :olderThanMs::float8 * interval '1 millisecond'`, {
        olderThanMs,
      })
      .andWhere('(locked_until IS NULL OR locked_until < now())')
      .execute();
    return result.affected ?? 0;
  }
}
