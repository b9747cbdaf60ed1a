/**
 * Paths that pino replaces with "[Redacted]" wherever they appear in a logged object:
 * credentials in headers, and every field of our bodies that holds a secret.
 */
const SECRET_FIELDS = [
  'password',
  'currentPassword',
  'newPassword',
  'confirmPassword',
  'passwordHash',
  'token',
  'refresh_token',
  'access_token',
  'reset_token',
  'refreshToken',
  'accessToken',
  'code',
  'authorization',
  'cookie',
];

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-xsrf-token"]',
  'res.headers["set-cookie"]',
  ...SECRET_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]),
];
