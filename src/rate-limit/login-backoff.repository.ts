import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';

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

/** SQL over `login_backoff`. */
@Injectable()
export class LoginBackoffRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Counts an attempt before its password is checked, in one atomic statement, unless the
   * identifier is locked (then `undefined`). The attempt that reaches the threshold sets
   * the lock at once: concurrent attempts cannot slip past it while passwords are being
   * hashed, and a success lifts it again (`clear`). The lock lasts `delayMs`, doubled for
   * every failure past the threshold, at most `maxDelayMs`; failures are forgotten after
   * `resetAfterMs` without an attempt.
   */
  async count(keyHash: Buffer, rules: BackoffRules): Promise<CountedAttempt | undefined> {
    const rows: { failures: number; locked_for_seconds: number | null }[] =
      await this.dataSource.query(
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
    const rows: { seconds: number | null }[] = await this.dataSource.query(
      `SELECT CEIL(EXTRACT(EPOCH FROM locked_until - now()))::int AS seconds
         FROM login_backoff WHERE key_hash = $1`,
      [keyHash],
    );
    return Math.max(1, rows[0]?.seconds ?? 1);
  }

  async clear(keyHashes: Buffer[], manager?: EntityManager): Promise<void> {
    await (manager ?? this.dataSource.manager).query(
      `DELETE FROM login_backoff WHERE key_hash = ANY($1::bytea[])`,
      [keyHashes],
    );
  }

  /** Drops counters that nobody has touched for `olderThanMs` and that lock nothing. */
  async sweep(olderThanMs: number): Promise<number> {
    const [, count]: [unknown[], number] = await this.dataSource.query(
      `DELETE FROM login_backoff
        WHERE last_attempt_at < now() - $1::float8 * interval '1 millisecond'
          AND (locked_until IS NULL OR locked_until < now())`,
      [olderThanMs],
    );
    return count;
  }
}
