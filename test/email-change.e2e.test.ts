// Issue 13, item 4: a change of email discards what was mailed to the old address. After an
// admin changes a user's email, the password-reset link, the code, a reset_token traded for
// the code and the verification link of the old address are all refused; a change that
// leaves the email alone keeps them. (The discard is a trigger on users.email, so any
// future path that changes an email, such as self-service, is covered too.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register, strongPassword, uniqueEmail } from './support/fixtures.js';
import { expectProblem } from './support/http.js';
import { codeIn, linkIn, SUBJECT, waitForNth } from './support/mail.js';
import { cleanup, startServer, type TestServer } from './support/server.js';
import { type SmtpSink, startSmtpSink } from './support/smtp.js';

const ADMIN_EMAIL = 'email-change-admin@example.com';
const ADMIN_PASSWORD = 'email change admin passphrase 5521';

let server: TestServer;
let smtp: SmtpSink;
let adminToken: string;

beforeAll(async () => {
  smtp = await startSmtpSink();
  server = await startServer({ env: { ADMIN_EMAIL, ADMIN_PASSWORD, SMTP_URL: smtp.url } });
  const res = await server.api.post('/api/auth/login', {
    email: ADMIN_EMAIL,
    password: ADMIN_PASSWORD,
  });
  expect(res.status).toBe(200);
  adminToken = res.body.access_token;
}, 120_000);

afterAll(async () => {
  await cleanup();
  await smtp?.stop();
});

/** A registered user with its verification link and a reset link and code, all mailed. */
async function userWithMailedTokens() {
  const { user, email } = await register(server.api);
  const verifyToken = linkIn(await waitForNth(smtp, email, SUBJECT.verify), 'verify-email').token;
  const forgot = await server.api.post('/api/recovery/forgot-password', { email });
  expect(forgot.status).toBe(202);
  const resetMail = await waitForNth(smtp, email, SUBJECT.reset);
  return {
    id: user.id as string,
    email,
    verifyToken,
    resetToken: linkIn(resetMail, 'reset-password').token,
    code: codeIn(resetMail),
  };
}

function adminPatch(id: string, body: Record<string, unknown>) {
  return server.api.patch(`/api/users/${id}`, body, { token: adminToken });
}

const resetPassword = (token: string) =>
  server.api.post('/api/recovery/reset-password', { token, newPassword: strongPassword() });
const verifyOtp = (email: string, code: string) =>
  server.api.post('/api/recovery/verify-otp', { email, code });
const verifyEmail = (token: string) => server.api.post('/api/auth/verify-email', { token });

describe('an admin changes a user email', () => {
  it('refuses the old reset link, the old code (at either address) and the old verification link', async () => {
    const u = await userWithMailedTokens();
    const newEmail = uniqueEmail('moved');
    const patched = await adminPatch(u.id, { email: newEmail });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ email: newEmail, emailVerified: false });

    expectProblem(await verifyOtp(newEmail, u.code), 400, 'INVALID_CODE');
    expectProblem(await verifyOtp(u.email, u.code), 400, 'INVALID_CODE');
    expectProblem(await resetPassword(u.resetToken), 400, 'INVALID_OR_EXPIRED_TOKEN');
    expectProblem(await verifyEmail(u.verifyToken), 400, 'INVALID_OR_EXPIRED_TOKEN');
    // The new, unproven address stays unverified.
    const after = await server.api.get(`/api/users/${u.id}`, { token: adminToken });
    expect(after.body.emailVerified).toBe(false);
  });

  it('refuses a reset_token that the old code was traded for before the change', async () => {
    const u = await userWithMailedTokens();
    const traded = await verifyOtp(u.email, u.code);
    expect(traded.status).toBe(200);
    expect((await adminPatch(u.id, { email: uniqueEmail('moved') })).status).toBe(200);
    expectProblem(await resetPassword(traded.body.reset_token), 400, 'INVALID_OR_EXPIRED_TOKEN');
  });

  it('keeps them when the update leaves the email alone (same address, other fields)', async () => {
    const u = await userWithMailedTokens();
    expect((await adminPatch(u.id, { firstName: 'Unchanged', email: u.email })).status).toBe(200);
    expect((await verifyEmail(u.verifyToken)).status).toBe(200);
    expect((await resetPassword(u.resetToken)).status).toBe(204);
  });
});
