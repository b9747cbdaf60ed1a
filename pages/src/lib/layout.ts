// The navigation bar of the signed-in pages (account, admin).
import { byId, show } from './dom.js';
import { withBusy } from './forms.js';
import { logout } from './session.js';
import type { User } from './types.js';

/** Shows who is signed in, the Admin link to admins, and wires "Log out". */
export function showSignedIn(user: User, alert: HTMLElement): void {
  byId('nav-user').textContent = user.email;
  show(byId('nav-admin'), user.role === 'ADMIN');
  const button = byId<HTMLButtonElement>('nav-logout');
  button.addEventListener('click', () => void withBusy(button, alert, () => logout('local')));
}

/** Replaces the loading line with `content`. */
export function reveal(content: HTMLElement): void {
  show(byId('loading'), false);
  show(content);
}
