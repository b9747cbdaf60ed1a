import { Module } from '@nestjs/common';
import { MailMetrics, mailMetricProviders } from './mail-metrics.js';
import { MailOutboxRepository } from './mail-outbox.repository.js';
import { MailOutbox } from './mail-outbox.service.js';
import { MailSender } from './mail-sender.js';
import { OutboxWorker } from './outbox-worker.js';

/**
 * Email: the outbox that other modules queue messages in, the worker that delivers them,
 * the sender (Handlebars templates, HTML and plain text, through `@nestjs-modules/mailer`,
 * loaded with the first message: see mailer.ts) and their metrics.
 */
@Module({
  providers: [
    MailOutboxRepository,
    MailSender,
    OutboxWorker,
    MailOutbox,
    MailMetrics,
    ...mailMetricProviders,
  ],
  exports: [MailOutbox, MailOutboxRepository],
})
export class MailModule {}
