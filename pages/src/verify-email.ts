// /verify-email?token=...: the link of the confirmation email. Loading the page sends
// nothing (mail scanners open links); the token is posted when the person presses the button.
import { ApiError, send } from './lib/api.js';
import { byId, queryParam, show } from './lib/dom.js';
import { onSubmit, showAlert, text } from './lib/forms.js';
import { mightBeSignedIn } from './lib/session.js';
import type { User } from './lib/types.js';

const verifyForm = byId<HTMLFormElement>('verify-form');
const resendForm = byId<HTMLFormElement>('resend-form');
const token = queryParam('token');

function offerNewLink(reason: string): void {
  show(verifyForm, false);
  showAlert(byId('resend-reason'), 'warning', reason);
  show(resendForm);
  byId('resend-email').focus();
}

onSubmit(verifyForm, { alert: byId('verify-alert') }, async () => {
  let user: User;
  try {
    user = await send<User>('/api/auth/verify-email', { method: 'POST', body: { token } });
  } catch (error) {
    if (error instanceof ApiError && error.code === 'INVALID_OR_EXPIRED_TOKEN') {
      offerNewLink(
        'This link has expired or was already used. If your address is confirmed already, just sign in.',
      );
      return;
    }
    throw error;
  }
  byId('verify-done-email').textContent = user.email;
  const next = byId<HTMLAnchorElement>('verify-continue');
  if (mightBeSignedIn()) next.href = '/account';
  show(verifyForm, false);
  show(byId('verify-done'));
  next.focus();
});

onSubmit(resendForm, { alert: byId('resend-alert') }, async () => {
  const { message } = await send<{ message: string }>('/api/auth/resend-verification', {
    method: 'POST',
    body: { email: text(resendForm, 'email') },
  });
  showAlert(byId('resend-alert'), 'success', message);
});

if (token) {
  show(verifyForm);
  verifyForm.querySelector<HTMLElement>('button')?.focus();
} else {
  offerNewLink('This page needs the link from your confirmation email, and this one has no token.');
}
