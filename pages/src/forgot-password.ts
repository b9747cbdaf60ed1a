// /forgot-password: email, then either the emailed link (which opens /reset-password) or
// the emailed 6-digit code here, traded for a reset token, then the new password.
import { send } from './lib/api.js';
import { byId, show } from './lib/dom.js';
import { onSubmit, showAlert, text, withBusy } from './lib/forms.js';
import { wireResetForm } from './lib/reset.js';

const emailForm = byId<HTMLFormElement>('forgot-form');
const codeForm = byId<HTMLFormElement>('code-form');
const resetForm = byId<HTMLFormElement>('reset-form');
let email = '';
let resetToken = '';

async function requestEmail(): Promise<void> {
  const { message } = await send<{ message: string }>('/api/recovery/forgot-password', {
    method: 'POST',
    body: { email },
  });
  showAlert(byId('code-sent'), 'success', message);
}

onSubmit(emailForm, { alert: byId('forgot-alert') }, async () => {
  email = text(emailForm, 'email');
  await requestEmail();
  show(emailForm, false);
  show(codeForm);
  byId('code-code').focus();
});

const codeAlert = byId('code-alert');
onSubmit(
  codeForm,
  { alert: codeAlert, codes: { INVALID_CODE: 'code', TOO_MANY_ATTEMPTS: 'code' } },
  async () => {
    const issued = await send<{ reset_token: string; expires_in: number }>(
      '/api/recovery/verify-otp',
      // "123 456" as some mail apps show it is the code 123456.
      { method: 'POST', body: { email, code: text(codeForm, 'code').replace(/\s+/g, '') } },
    );
    resetToken = issued.reset_token;
    byId('reset-email').textContent = email;
    show(codeForm, false);
    show(resetForm);
    byId('reset-new-password').focus();
  },
);

const resend = byId<HTMLButtonElement>('code-resend');
resend.addEventListener('click', () => {
  void withBusy(resend, codeAlert, async () => {
    await requestEmail();
    showAlert(
      codeAlert,
      'info',
      'A new email is on its way; the previous link and code no longer work.',
    );
    byId('code-code').focus();
  });
});

wireResetForm(() => resetToken);
