/** Every audit event type (API.md, "Audit"). */
export const AUDIT_EVENT_TYPES = [
  'user.registered',
  'user.login',
  'user.login_failed',
  'user.logout',
  'session.refreshed',
  'session.reuse_detected',
  'session.reauthenticated',
  'password.changed',
  'password.reset_requested',
  'password.reset',
  'email.verified',
  'user.created',
  'user.updated',
  'user.deleted',
  'user.imported',
  'rate_limit.exceeded',
  'mfa.enrolled',
  'mfa.removed',
  'mfa.verified',
  'mfa.failed',
  'recovery_code.used',
  'recovery_codes.regenerated',
  'passkey.added',
  'passkey.renamed',
  'passkey.removed',
  'passkey.login',
] as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/** `metadata.reason` of `user.login_failed`. */
export type LoginFailureReason =
  'invalid_credentials' | 'account_disabled' | 'email_not_verified' | 'locked' | 'rate_limited';
