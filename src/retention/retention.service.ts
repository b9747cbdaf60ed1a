import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import {
  RETENTION_BATCH,
  RETENTION_RULES,
  RetentionRepository,
  type RetentionTable,
} from './retention.repository.js';

/**
 * The scheduled cleanup: every RETENTION_INTERVAL, each instance deletes, in batches,
 * audit events older than AUDIT_RETENTION and, EXPIRED_RETENTION after they ended, sessions
 * (with their refresh tokens), password resets, verification links and sent or abandoned
 * outbox messages. Instances may run it at the same time: the batches skip each other's
 * rows (see RetentionRepository), so the work is shared, never repeated.
 */
@Injectable()
export class RetentionService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Retention');
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopping = false;
  private lastError: string | undefined;

  constructor(
    private readonly repository: RetentionRepository,
    private readonly config: AppConfig,
  ) {}

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
      for (const table of Object.keys(RETENTION_RULES) as RetentionTable[]) {
        const rule = RETENTION_RULES[table];
        const retentionMs =
          rule.retention === 'audit'
            ? this.config.retention.auditMs
            : this.config.retention.expiredMs;
        let total = 0;
        let count: number;
        do {
          if (this.stopping) return deleted;
          count = await this.repository.deleteBatch(table, retentionMs);
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
