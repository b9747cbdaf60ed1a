// /register: creates the account; the confirmation link arrives by email.
import { send } from './lib/api.js';
import { byId, show } from './lib/dom.js';
import { onSubmit, password, text } from './lib/forms.js';
import { samePasswords } from './lib/passwords.js';
import type { User } from './lib/types.js';

const form = byId<HTMLFormElement>('register-form');

onSubmit(
  form,
  {
    alert: byId('register-alert'),
    codes: { EMAIL_TAKEN: 'email', USERNAME_TAKEN: 'username', WEAK_PASSWORD: 'password' },
  },
  async () => {
    if (!samePasswords(form, 'password', 'confirmPassword')) return;
    const body: Record<string, string> = {
      email: text(form, 'email'),
      password: password(form, 'password'),
    };
    for (const name of ['username', 'firstName', 'lastName']) {
      if (text(form, name)) body[name] = text(form, name);
    }
    const { user } = await send<{ user: User }>('/api/auth/register', { method: 'POST', body });
    byId('register-done-email').textContent = user.email;
    show(form, false);
    show(byId('register-signin'), false);
    show(byId('register-done'));
    byId('register-done').querySelector<HTMLElement>('a')?.focus();
  },
);
