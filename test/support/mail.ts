import type { ReceivedMail, SmtpSink } from './smtp.js';

export const SUBJECT = {
  verify: 'Confirm your email address',
  reset: 'Reset your password',
  changed: 'Your password was changed',
} as const;

/** Messages of one subject received for `to`, in arrival order. */
export function mailsFor(smtp: SmtpSink, to: string, subject: string): ReceivedMail[] {
  const address = to.toLowerCase();
  return smtp.messages.filter((m) => m.to.includes(address) && m.subject === subject);
}

/** Waits for the `n`-th (1-based) message of `subject` for `to`. */
export function waitForNth(
  smtp: SmtpSink,
  to: string,
  subject: string,
  n = 1,
  timeoutMs = 15_000,
): Promise<ReceivedMail> {
  return smtp.waitForMail(
    to,
    (m) => m.subject === subject && mailsFor(smtp, to, subject).indexOf(m) === n - 1,
    timeoutMs,
  );
}

/** The token of a `{APP_URL}/<page>?token=...` link in the plain-text part, and the link. */
export function linkIn(mail: { text: string }, page: string): { link: string; token: string } {
  const match = new RegExp(`(\\S+/${page}\\?token=([\\w-]+))`).exec(mail.text);
  if (!match) throw new Error(`no /${page} link in:\n${mail.text}`);
  return { link: match[1], token: match[2] };
}

/** The 6-digit code of a reset email. */
export function codeIn(mail: { text: string }): string {
  const match = /^\s*(\d{6})\s*$/m.exec(mail.text);
  if (!match) throw new Error(`no 6-digit code in:\n${mail.text}`);
  return match[1];
}
