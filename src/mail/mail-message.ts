/**
 * Every message the service sends: the template it is rendered from and the variables that
 * template needs. The outbox stores `template` and `context`; the worker renders at send
 * time, so a template fix also applies to messages still queued.
 */
export type MailMessage =
  | {
      template: 'verify-email';
      to: string;
      context: { link: string; expiresIn: string };
    }
  | {
      template: 'reset-password';
      to: string;
      context: { link: string; code: string; expiresIn: string };
    }
  | {
      template: 'password-changed';
      to: string;
      context: { appUrl: string };
    }
  | {
      template: 'mfa-enabled';
      to: string;
      context: { appUrl: string };
    }
  | {
      template: 'mfa-removed';
      to: string;
      context: { appUrl: string; byAdmin: boolean };
    }
  | {
      template: 'passkey-added';
      to: string;
      context: { appUrl: string; name: string };
    }
  | {
      template: 'passkey-removed';
      to: string;
      context: { appUrl: string; name: string };
    }
  | {
      template: 'recovery-code-used';
      to: string;
      context: { appUrl: string; remaining: number };
    };

export type MailTemplate = MailMessage['template'];

export const MAIL_SUBJECTS: Record<MailTemplate, string> = {
  'verify-email': 'Confirm your email address',
  'reset-password': 'Reset your password',
  'password-changed': 'Your password was changed',
  'mfa-enabled': 'Two-step sign-in was turned on',
  'mfa-removed': 'Two-step sign-in was turned off',
  'recovery-code-used': 'A recovery code was used',
  'passkey-added': 'A passkey was added to your account',
  'passkey-removed': 'A passkey was removed from your account',
};

export function isMailTemplate(name: string): name is MailTemplate {
  return Object.hasOwn(MAIL_SUBJECTS, name);
}

/** "15 minutes", "24 hours", "2 seconds": a lifetime as the emails state it. */
export function describeDuration(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
    [1_000, 'second'],
  ];
  const [size, name] = units.find(([unitMs]) => ms >= unitMs && ms % unitMs === 0) ?? [
    1_000,
    'second',
  ];
  const amount = Math.max(1, Math.round(ms / size));
  return `${amount} ${name}${amount === 1 ? '' : 's'}`;
}
