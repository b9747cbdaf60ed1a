// The "choose a new password" form, shared by /reset-password (link token) and
// /forgot-password (the `reset_token` traded for the emailed code).
import { ApiError, send } from './api.js';
import { byId, el, show } from './dom.js';
import { onSubmit, password, showAlert } from './forms.js';
import { samePasswords } from './passwords.js';

/** Wires `#reset-form`; on success it is replaced by `#reset-done`. */
export function wireResetForm(token: () => string): void {
  const form = byId<HTMLFormElement>('reset-form');
  const alert = byId('reset-alert');
  onSubmit(form, { alert, codes: { WEAK_PASSWORD: 'newPassword' } }, async () => {
    if (!samePasswords(form, 'newPassword', 'confirmPassword')) return;
    try {
      await send('/api/recovery/reset-password', {
        method: 'POST',
        body: { token: token(), newPassword: password(form, 'newPassword') },
      });
    } catch (error) {
      if (error instanceof ApiError && error.code === 'INVALID_OR_EXPIRED_TOKEN') {
        showAlert(
          alert,
          'danger',
          'This reset link or code has expired or was already used. ',
          el('a', { href: '/forgot-password', class: 'alert-link' }, 'Request a new email'),
          '.',
        );
        return;
      }
      throw error;
    }
    show(form, false);
    const done = byId('reset-done');
    show(done);
    done.querySelector<HTMLElement>('a')?.focus();
  });
}
