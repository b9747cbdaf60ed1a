/**
 * The mail stack: `@nestjs-modules/mailer` with Handlebars templates over nodemailer. This
 * module is imported only when the first message is about to be sent (see MailSender):
 * loading it (nodemailer, Handlebars, the mailer's CSS inliner and mail preview packages)
 * costs some 10 MB of memory and 0.2 s of start-up, which an instance that sends nothing
 * should not pay.
 */
import {
  MailerService,
  type MailerOptions,
  type MailerTransportFactory,
} from '@nestjs-modules/mailer';
import { HandlebarsAdapter } from '@nestjs-modules/mailer/adapters/handlebars.adapter';
import { dirname, join } from 'node:path';
import { createTransport } from 'nodemailer';
import { fileURLToPath } from 'node:url';
import type { AppConfig } from '../config/app-config.js';
import { SEND_TIMEOUT_MS } from './mail-timing.js';

/** Copied next to the compiled module by `nest build` (nest-cli.json `assets`). */
export const TEMPLATE_DIR = join(dirname(fileURLToPath(import.meta.url)), 'templates');

export function createMailer(config: AppConfig): MailerService {
  const transports: MailerTransportFactory = {
    createTransport: (options) => createTransport(options as Parameters<typeof createTransport>[0]),
  };
  return new MailerService(mailerOptions(config), transports);
}

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
