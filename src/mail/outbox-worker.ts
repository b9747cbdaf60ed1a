import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { MailMetrics } from './mail-metrics.js';
import { MailOutboxRepository, type ClaimedMail } from './mail-outbox.repository.js';
import { isUnavailable } from '../common/errors/unavailable.js';
import { errorText, MailSender, PermanentMailError } from './mail-sender.js';
import { LEASE_MS } from './mail-timing.js';

/** Retries wait 2 s, 4 s, 8 s... up to 10 minutes; after 25 attempts (about 3 h) we give up. */
const RETRY_BASE_MS = 2_000;
const RETRY_MAX_MS = 600_000;
const MAX_ATTEMPTS = 25;
// Sent and abandoned messages are deleted by the retention cleanup (EXPIRED_RETENTION).

type Outcome = 'idle' | 'sent' | 'failed';

/**
 * The delivery loop that runs in every instance: claim one due message, send it, record
 * the outcome, repeat; sleep `MAIL_POLL_INTERVAL` when nothing is due. Instances coordinate
 * only through the claim in the database, so any number of them can run.
 */
@Injectable()
export class OutboxWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('MailOutbox');
  private loop: Promise<void> | undefined;
  private stopping = false;
  private wakeRequested = false;
  private interruptSleep: (() => void) | undefined;
  private lastLoggedError: string | undefined;

  constructor(
    private readonly repository: MailOutboxRepository,
    private readonly sender: MailSender,
    private readonly config: AppConfig,
    private readonly metrics: MailMetrics,
  ) {}

  onApplicationBootstrap(): void {
    this.loop = this.run();
  }

  /**
   * Stops after the message in hand, if any. It runs in onModuleDestroy because MailSender
   * closes the mail transport in onApplicationShutdown, which Nest calls after every
   * onModuleDestroy has finished; the database closes then too.
   */
  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    this.wake();
    // A hung SMTP server could hold the current send for up to SEND_TIMEOUT_MS
    // (mail-timing.ts), longer than SHUTDOWN_TIMEOUT allows: stop waiting after half of it. The message keeps its
    // lease and is retried once the lease runs out; the mailer closes its transport next
    // and the process exits, which cuts the unfinished SMTP transaction.
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = await Promise.race([
      this.loop?.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), this.config.shutdownTimeoutMs / 2);
      }),
    ]);
    clearTimeout(timer);
    if (gaveUp) this.logger.warn('Stopped while a message was being sent; it will be retried');
  }

  /** Looks for due messages now instead of at the end of the current sleep. */
  wake(): void {
    this.wakeRequested = true;
    this.interruptSleep?.();
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      const outcome = await this.step();
      // Right after a delivery more may be due; after an idle look or a failure, pause.
      if (outcome !== 'sent') await this.sleep(this.config.mail.pollIntervalMs);
    }
  }

  private async step(): Promise<Outcome> {
    try {
      const outcome = await this.deliverNext();
      this.lastLoggedError = undefined;
      return outcome;
    } catch (error) {
      // The database is unreachable or the schema is missing: say so once, keep polling.
      const text = errorText(error);
      if (text !== this.lastLoggedError) {
        if (isUnavailable(error))
          this.logger.warn({ error: text }, 'The mail outbox cannot be read');
        else this.logger.error({ error: text }, 'The mail outbox cannot be read');
        this.lastLoggedError = text;
      }
      return 'failed';
    }
  }

  /** Claims, sends and records one message; `idle` when none is due. */
  async deliverNext(): Promise<Outcome> {
    const mail = await this.repository.claimNext(LEASE_MS);
    if (!mail) return 'idle';
    try {
      await this.sender.send(mail);
    } catch (error) {
      await this.recordFailure(mail, error);
      return 'failed';
    }
    await this.repository.markSent(mail);
    this.metrics.delivered(mail.template);
    this.logger.log({ outboxId: mail.id, template: mail.template }, 'Mail delivered');
    return 'sent';
  }

  private async recordFailure(mail: ClaimedMail, error: unknown): Promise<void> {
    const giveUp = error instanceof PermanentMailError || mail.attempts >= MAX_ATTEMPTS;
    const retryInMs = giveUp ? undefined : backoff(mail.attempts);
    await this.repository.markFailed(mail, errorText(error), retryInMs);
    this.metrics.failed(giveUp ? 'abandoned' : 'retry', mail.template);
    const context = { outboxId: mail.id, attempts: mail.attempts, error: errorText(error) };
    if (giveUp) this.logger.error(context, 'Mail abandoned');
    else this.logger.warn({ ...context, retryInMs }, 'Mail delivery failed; will retry');
  }

  private sleep(ms: number): Promise<void> {
    if (this.wakeRequested || this.stopping) {
      this.wakeRequested = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.interruptSleep = undefined;
        this.wakeRequested = false;
        resolve();
      };
      const timer = setTimeout(finish, ms);
      this.interruptSleep = finish;
    });
  }
}

/** Exponential backoff with ±20 % jitter, so that retries of many messages spread out. */
export function backoff(attempts: number): number {
  const exponential = Math.min(RETRY_BASE_MS * 2 ** (attempts - 1), RETRY_MAX_MS);
  return Math.round(exponential * (0.8 + Math.random() * 0.4));
}
