import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { AuditRepository } from '../audit/audit.repository.js';
import { MfaChallengesRepository } from '../mfa/mfa-challenges.repository.js';
import { WebauthnChallengesRepository } from '../mfa/passkeys/webauthn-challenges.repository.js';
import { MailOutboxRepository } from '../mail/mail-outbox.repository.js';
import { EmailVerificationsRepository } from '../recovery/email-verifications.repository.js';
import { PasswordResetsRepository } from '../recovery/password-resets.repository.js';
import { SessionsRepository } from '../sessions/sessions.repository.js';

/** Rows deleted per statement: short statements, short row locks, small WAL bursts. */
export const RETENTION_BATCH = 1_000;

export type RetentionTable =
  | 'audit_events'
  | 'sessions'
  | 'password_resets'
  | 'email_verifications'
  | 'mail_outbox'
  | 'mfa_challenges'
  | 'webauthn_challenges';

/** Which retention applies to a table, and the deletion of one batch by its own repository. */
interface RetentionRule {
  retention: 'audit' | 'expired';
  deleteBatch(retentionMs: number, batch: number): Promise<number>;
}

/**
 * The scheduled cleanup: every RETENTION_INTERVAL, each instance deletes, in batches,
 * audit events older than AUDIT_RETENTION and, EXPIRED_RETENTION after they ended, sessions
 * (with their refresh tokens), password resets, verification links and sent or abandoned
 * outbox messages. Instances may run it at the same time: the batches skip each other's
 * rows (`deleteBatch` in database/batch-delete.ts), so the work is shared, never repeated. Each
 * table is cleaned by the repository that owns it; refresh tokens go with their sessions
 * (ON DELETE CASCADE) and the login backoff sweeps its own table (LoginBackoff).
 */
@Injectable()
export class RetentionService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Retention');
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopping = false;
  private lastError: string | undefined;

  private readonly rules: Record<RetentionTable, RetentionRule>;

  constructor(
    audit: AuditRepository,
    sessions: SessionsRepository,
    resets: PasswordResetsRepository,
    verifications: EmailVerificationsRepository,
    outbox: MailOutboxRepository,
    challenges: MfaChallengesRepository,
    webauthnChallenges: WebauthnChallengesRepository,
    private readonly config: AppConfig,
  ) {
    this.rules = {
      /** Audit events older than AUDIT_RETENTION. */
      audit_events: { retention: 'audit', deleteBatch: (ms, n) => audit.deleteOlderBatch(ms, n) },
      /** Sessions revoked, idle-expired or past their absolute expiry EXPIRED_RETENTION ago. */
      sessions: { retention: 'expired', deleteBatch: (ms, n) => sessions.deleteEndedBatch(ms, n) },
      /** Password resets whose link, code and reset token all expired EXPIRED_RETENTION ago. */
      password_resets: {
        retention: 'expired',
        deleteBatch: (ms, n) => resets.deleteExpiredBatch(ms, n),
      },
      /** Verification links expired EXPIRED_RETENTION ago (used ones are deleted when used). */
      email_verifications: {
        retention: 'expired',
        deleteBatch: (ms, n) => verifications.deleteExpiredBatch(ms, n),
      },
      /** Sent or abandoned messages finished EXPIRED_RETENTION ago; pending ones stay. */
      mail_outbox: {
        retention: 'expired',
        deleteBatch: (ms, n) => outbox.deleteFinishedBatch(ms, n),
      },
      /** Second steps of logins expired EXPIRED_RETENTION ago (used ones are deleted when used). */
      mfa_challenges: {
        retention: 'expired',
        deleteBatch: (ms, n) => challenges.deleteExpiredBatch(ms, n),
      },
      /** Passkey challenges expired EXPIRED_RETENTION ago (used ones are deleted when used). */
      webauthn_challenges: {
        retention: 'expired',
        deleteBatch: (ms, n) => webauthnChallenges.deleteExpiredBatch(ms, n),
      },
    };
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      // One run at a time on this instance: a slow run is not stacked upon.
      this.running ??= this.runOnce().finally(() => (this.running = undefined));
    }, this.config.retention.intervalMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    await this.running;
  }

  /** One cleanup of every table; answers the rows deleted per table. Never throws. */
  async runOnce(): Promise<Partial<Record<RetentionTable, number>>> {
    const deleted: Partial<Record<RetentionTable, number>> = {};
    try {
      for (const table of Object.keys(this.rules) as RetentionTable[]) {
        const rule = this.rules[table];
        const retentionMs =
          rule.retention === 'audit'
            ? this.config.retention.auditMs
            : this.config.retention.expiredMs;
        let total = 0;
        let count: number;
        do {
          if (this.stopping) return deleted;
          count = await rule.deleteBatch(retentionMs, RETENTION_BATCH);
          total += count;
        } while (count >= RETENTION_BATCH);
        if (total) deleted[table] = total;
      }
      this.lastError = undefined;
      if (Object.keys(deleted).length) this.logger.log({ deleted }, 'Deleted rows past retention');
    } catch (error) {
      // The database is down or busy: say so once, try again at the next interval.
      const text = error instanceof Error ? error.message : String(error);
      if (text !== this.lastError) {
        this.logger.warn({ err: { message: text } }, 'The retention cleanup failed');
        this.lastError = text;
      }
    }
    return deleted;
  }
}
