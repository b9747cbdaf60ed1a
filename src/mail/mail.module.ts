import { Module } from '@nestjs/common';
import { MailerModule, type MailerOptions } from '@nestjs-modules/mailer';
import { HandlebarsAdapter } from '@nestjs-modules/mailer/adapters/handlebars.adapter';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppConfig } from '../config/app-config.js';
import { MailMetrics, mailMetricProviders } from './mail-metrics.js';
import { MailOutboxRepository } from './mail-outbox.repository.js';
import { MailOutbox } from './mail-outbox.service.js';
import { MailSender } from './mail-sender.js';
import { OutboxWorker, SEND_TIMEOUT_MS } from './outbox-worker.js';

/** Copied next to the compiled module by `nest build` (nest-cli.json `assets`). */
export const TEMPLATE_DIR = join(dirname(fileURLToPath(import.meta.url)), 'templates');

/**
 * Email: Handlebars templates (HTML and plain text), the outbox that other modules queue
 * messages in, the worker that delivers them, and their metrics.
 */
@Module({
  imports: [
    MailerModule.forRootAsync({
      imports: [],
      inject: [AppConfig],
      useFactory: (config: AppConfig) => mailerOptions(config),
    }),
  ],
  providers: [
    MailOutboxRepository,
    MailSender,
    OutboxWorker,
    MailOutbox,
    MailMetrics,
    ...mailMetricProviders,
  ],
  exports: [MailOutbox],
})
export class MailModule {}

function mailerOptions(config: AppConfig): MailerOptions {
  return {
    transport: transportOptions(config.mail.smtpUrl),
    template: {
      dir: TEMPLATE_DIR,
      adapter: new HandlebarsAdapter(undefined, { inlineCssEnabled: false }),
      // A variable missing from a message's context is a bug: fail instead of sending blanks.
      options: { strict: true },
    },
    sendTimeout: SEND_TIMEOUT_MS,
  };
}

/**
 * SMTP from the URL (a small pool, bounded timeouts so a hung server cannot hold a claim),
 * or, without one, a transport that hands back the raw message for MailSender to write.
 */
function transportOptions(smtpUrl: string | undefined): Record<string, unknown> {
  if (!smtpUrl) return { streamTransport: true, buffer: true, newline: 'unix' };
  return {
    url: smtpUrl,
    pool: true,
    maxConnections: 2,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  };
}
