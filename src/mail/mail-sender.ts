import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { MailerService } from '@nestjs-modules/mailer';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppConfig } from '../config/app-config.js';
import { isMailTemplate, MAIL_SUBJECTS } from './mail-message.js';
import type { ClaimedMail } from './mail-outbox.repository.js';

/** Thrown for a failure that retrying cannot fix (a 5xx SMTP reply, an unknown template). */
export class PermanentMailError extends Error {
  override readonly name = 'PermanentMailError';
}

/**
 * Renders a queued message (Handlebars, HTML and plain text) and hands it to the transport:
 * SMTP when `SMTP_URL` is set, otherwise an `.eml` file under `DATA_DIR/mail/`.
 *
 * The mail stack (mailer.ts) is loaded when the first message is sent, not at start-up;
 * the transport (an SMTP connection pool) is closed at application shutdown, after the
 * outbox worker has stopped (in onModuleDestroy).
 */
@Injectable()
export class MailSender implements OnApplicationShutdown {
  private readonly logger = new Logger('Mail');
  readonly fileMode: boolean;
  private readonly mailDir: string;
  private readonly domain: string;
  private mailer: Promise<MailerService> | undefined;

  constructor(private readonly config: AppConfig) {
    this.fileMode = !config.mail.smtpUrl;
    this.mailDir = join(config.dataDir, 'mail');
    this.domain = /@([^>\s]+)>?\s*$/.exec(config.mail.from)?.[1] ?? 'localhost';
  }

  async onApplicationShutdown(): Promise<void> {
    const mailer = this.mailer;
    this.mailer = undefined;
    if (mailer) await (await mailer.catch(() => undefined))?.onModuleDestroy();
  }

  private loadMailer(): Promise<MailerService> {
    if (!this.mailer) {
      const loading = import('./mailer.js').then(({ createMailer }) => createMailer(this.config));
      this.mailer = loading;
      // A failed load is not kept: the next message tries again.
      loading.catch(() => {
        if (this.mailer === loading) this.mailer = undefined;
      });
    }
    return this.mailer;
  }

  async send(mail: ClaimedMail): Promise<void> {
    if (!isMailTemplate(mail.template) || !mail.context) {
      throw new PermanentMailError(`unknown template "${mail.template}" or no variables`);
    }
    const mailer = await this.loadMailer();
    let info: { message?: unknown };
    try {
      info = await mailer.sendMail({
        from: this.config.mail.from,
        to: mail.recipient,
        subject: MAIL_SUBJECTS[mail.template],
        template: mail.template,
        textTemplate: `${mail.template}.txt`,
        context: mail.context,
        // Stable across retries, so a receiving server can drop a duplicate should a
        // worker die between the SMTP answer and recording it.
        messageId: `<${mail.id}@${this.domain}>`,
      });
    } catch (error) {
      throw isPermanent(error) ? new PermanentMailError(errorText(error)) : error;
    }
    if (this.fileMode) await this.writeFile(mail, info.message);
  }

  /** Writes the message where a developer finds it, and says where in the log. */
  private async writeFile(mail: ClaimedMail, message: unknown): Promise<void> {
    if (!Buffer.isBuffer(message)) throw new Error('the file transport returned no message');
    await mkdir(this.mailDir, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const file = join(this.mailDir, `${stamp}-${mail.template}-${mail.id}.eml`);
    await writeFile(`${file}.tmp`, message, { mode: 0o600 });
    await rename(`${file}.tmp`, file);
    // The link makes the whole flow usable on a bare machine; it is a secret, so it is
    // logged only here (no SMTP configured) and never in production.
    const link = this.config.isProduction ? undefined : mail.context?.link;
    this.logger.log(
      { outboxId: mail.id, template: mail.template, file, ...(link ? { link } : {}) },
      `Mail written to ${file}${typeof link === 'string' ? ` (link: ${link})` : ''}`,
    );
  }
}

/** SMTP 5xx replies are permanent (RFC 5321 §4.2.1); everything else may pass later. */
function isPermanent(error: unknown): boolean {
  const code = (error as { responseCode?: unknown }).responseCode;
  return typeof code === 'number' && code >= 500 && code < 600;
}

export function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.slice(0, 500);
}
