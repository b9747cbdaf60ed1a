import { Injectable, Logger } from '@nestjs/common';
import { MailerService } from '@nestjs-modules/mailer';
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
 */
@Injectable()
export class MailSender {
  private readonly logger = new Logger('Mail');
  readonly fileMode: boolean;
  private readonly mailDir: string;
  private readonly domain: string;

  constructor(
    private readonly mailer: MailerService,
    private readonly config: AppConfig,
  ) {
    this.fileMode = !config.mail.smtpUrl;
    this.mailDir = join(config.dataDir, 'mail');
    this.domain = /@([^>\s]+)>?\s*$/.exec(config.mail.from)?.[1] ?? 'localhost';
  }

  async send(mail: ClaimedMail): Promise<void> {
    if (!isMailTemplate(mail.template) || !mail.context) {
      throw new PermanentMailError(`unknown template "${mail.template}" or no variables`);
    }
    let info: { message?: unknown };
    try {
      info = await this.mailer.sendMail({
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
