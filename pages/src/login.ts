// /login: email or username and password. Comes back to `?next=` (a path of this site)
// or goes to /account; an open session in this tab skips the form.
import { ApiError, send } from './lib/api.js';
import { byId, el, queryParam } from './lib/dom.js';
import { onSubmit, password, showAlert, text, withBusy } from './lib/forms.js';
import { login, mightBeSignedIn, refresh, type Credentials } from './lib/session.js';

const form = byId<HTMLFormElement>('login-form');
const alert = byId('login-alert');
const notice = byId('login-notice');

const NOTICES: Record<string, string> = {
  ended: 'Your session has ended. Please sign in again.',
  'signed-out': 'You have been signed out.',
};

/**
 * `?next=` when it is a path of this site; never another origin (no open redirect). The
 * browser's own URL parser decides, so tricks it would undo (`/%09/evil.example`, `/\\host`)
 * cannot pass a pattern that reads the text differently.
 */
function nextPage(): string {
  const next = queryParam('next');
  if (!next?.startsWith('/')) return '/account';
  const target = new URL(next, location.origin);
  return target.origin === location.origin
    ? target.pathname + target.search + target.hash
    : '/account';
}

function offerNewVerificationLink(email: string, detail: string): void {
  const button = el(
    'button',
    { type: 'button', class: 'btn btn-sm btn-outline-dark ms-1', 'data-busy-label': 'Sending…' },
    'Send a new confirmation link',
  );
  button.addEventListener('click', () => {
    void withBusy(button, alert, async () => {
      const { message } = await send<{ message: string }>('/api/auth/resend-verification', {
        method: 'POST',
        body: { email },
      });
      showAlert(alert, 'success', message);
    });
  });
  showAlert(alert, 'warning', `${detail} `, button);
}

onSubmit(form, { alert, fields: { email: 'identifier', username: 'identifier' } }, async () => {
  const identifier = text(form, 'identifier');
  const credentials: Credentials = identifier.includes('@')
    ? { email: identifier, password: password(form, 'password') }
    : { username: identifier, password: password(form, 'password') };
  try {
    await login(credentials);
  } catch (error) {
    if (error instanceof ApiError && error.code === 'EMAIL_NOT_VERIFIED' && credentials.email) {
      offerNewVerificationLink(credentials.email, error.problem.detail);
      return;
    }
    throw error;
  }
  location.assign(nextPage());
});

const reason = queryParam('reason');
if (reason && NOTICES[reason]) showAlert(notice, 'info', NOTICES[reason]);

if (mightBeSignedIn()) {
  refresh().then(
    (signedIn) => signedIn && location.replace(nextPage()),
    () => undefined, // the server is unreachable: the form stays, and says so on submit
  );
}
