import { Injectable, type Provider } from '@nestjs/common';
import { InjectMetric, makeCounterProvider, makeGaugeProvider } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge } from 'prom-client';
import { isMailTemplate, MAIL_SUBJECTS } from './mail-message.js';
import { MailOutboxRepository } from './mail-outbox.repository.js';

const PENDING = 'authkit_mail_outbox_pending';
const DELIVERIES = 'authkit_mail_deliveries_total';
const FAILURES = 'authkit_mail_delivery_failures_total';
/** A scrape must not hang on a database that does not answer. */
const COUNT_TIMEOUT_MS = 1_000;

/** `retry`: the attempt failed and another is scheduled; `abandoned`: given up for good. */
export type DeliveryFailure = 'retry' | 'abandoned';

/**
 * The outbox's metrics. The backlog is counted in the database when Prometheus scrapes, so
 * every instance reports the same, deployment-wide number (aggregate it with `max`, not
 * `sum`); it is NaN when the database did not answer in time. The counters are per instance.
 */
export const mailMetricProviders: Provider[] = [
  makeGaugeProvider({
    name: PENDING,
    help: 'Messages in the mail outbox waiting for delivery (due or backing off), deployment-wide',
    inject: [MailOutboxRepository],
    async collect(this: Gauge, repository: MailOutboxRepository) {
      this.set(await countWithin(repository, COUNT_TIMEOUT_MS));
    },
  }),
  makeCounterProvider({
    name: DELIVERIES,
    help: 'Messages this instance handed to the mail server, by template',
    labelNames: ['template'],
  }),
  makeCounterProvider({
    name: FAILURES,
    help: 'Failed delivery attempts of this instance, by kind (retry: will be retried; abandoned: given up) and template',
    labelNames: ['kind', 'template'],
  }),
];

async function countWithin(repository: MailOutboxRepository, ms: number): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<number>((resolve) => {
    timer = setTimeout(() => resolve(Number.NaN), ms);
  });
  try {
    return await Promise.race([repository.countPending().catch(() => Number.NaN), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

@Injectable()
export class MailMetrics {
  constructor(
    @InjectMetric(DELIVERIES) private readonly deliveries: Counter<'template'>,
    @InjectMetric(FAILURES) private readonly failures: Counter<'kind' | 'template'>,
  ) {
    // Every series exists from the start (at 0), so rates and alerts work before the first event.
    for (const template of Object.keys(MAIL_SUBJECTS)) {
      this.deliveries.inc({ template }, 0);
      for (const kind of ['retry', 'abandoned'] as const) this.failures.inc({ kind, template }, 0);
    }
  }

  delivered(template: string): void {
    this.deliveries.inc({ template: label(template) });
  }

  failed(kind: DeliveryFailure, template: string): void {
    this.failures.inc({ kind, template: label(template) });
  }
}

/** The template name as a label: a row with an unknown template must not add series. */
function label(template: string): string {
  return isMailTemplate(template) ? template : 'unknown';
}
