// /account: profile, password, sessions, log out here / everywhere.
import { send } from './lib/api.js';
import { byId, describeUserAgent, el, formatDate } from './lib/dom.js';
import { errorMessage, onSubmit, password, showAlert, textOrNull, withBusy } from './lib/forms.js';
import { reveal, showSignedIn } from './lib/layout.js';
import { samePasswords } from './lib/passwords.js';
import { mountSecondFactors } from './lib/second-factors.js';
import { call, logout, requireSession, SignedOut, watchSession } from './lib/session.js';
import type { Session, User } from './lib/types.js';

const pageAlert = byId('page-alert');
const profileForm = byId<HTMLFormElement>('profile-form');
const passwordForm = byId<HTMLFormElement>('password-form');
const sessionsList = byId('sessions-list');
const sessionsAlert = byId('sessions-alert');

function fillProfile(user: User): void {
  const field = (name: string) => profileForm.elements.namedItem(name) as HTMLInputElement;
  field('email').value = user.email;
  field('username').value = user.username ?? '';
  field('firstName').value = user.firstName ?? '';
  field('lastName').value = user.lastName ?? '';
  const status = byId('profile-email-status');
  if (user.emailVerified) {
    status.replaceChildren(el('span', { class: 'badge text-bg-success' }, 'Confirmed'));
    return;
  }
  const resend = el(
    'button',
    {
      type: 'button',
      class: 'btn btn-link btn-sm p-0 align-baseline',
      'data-busy-label': 'Sending…',
    },
    'Send a new confirmation link',
  );
  resend.addEventListener('click', () => {
    void withBusy(resend, byId('profile-alert'), async () => {
      const { message } = await send<{ message: string }>('/api/auth/resend-verification', {
        method: 'POST',
        body: { email: user.email },
      });
      showAlert(byId('profile-alert'), 'success', message);
    });
  });
  status.replaceChildren(
    el('span', { class: 'badge text-bg-warning' }, 'Not confirmed yet'),
    ' ',
    resend,
  );
}

onSubmit(
  profileForm,
  { alert: byId('profile-alert'), codes: { USERNAME_TAKEN: 'username' } },
  async () => {
    const user = await call<User>('/api/users/me', {
      method: 'PATCH',
      body: {
        username: textOrNull(profileForm, 'username'),
        firstName: textOrNull(profileForm, 'firstName'),
        lastName: textOrNull(profileForm, 'lastName'),
      },
    });
    fillProfile(user);
    showAlert(byId('profile-alert'), 'success', 'Profile saved.');
  },
);

onSubmit(
  passwordForm,
  {
    alert: byId('password-alert'),
    codes: {
      INVALID_CURRENT_PASSWORD: 'currentPassword',
      WEAK_PASSWORD: 'newPassword',
      PASSWORD_MISMATCH: 'confirmPassword',
    },
  },
  async () => {
    if (!samePasswords(passwordForm, 'newPassword', 'confirmPassword')) return;
    await call('/api/auth/change-password', {
      method: 'POST',
      body: {
        currentPassword: password(passwordForm, 'currentPassword'),
        newPassword: password(passwordForm, 'newPassword'),
        confirmPassword: password(passwordForm, 'confirmPassword'),
      },
    });
    passwordForm.reset();
    showAlert(
      byId('password-alert'),
      'success',
      'Password changed. Your other sessions have been signed out.',
    );
    await loadSessions();
  },
);

function sessionItem(session: Session): HTMLLIElement {
  const device = describeUserAgent(session.userAgent);
  const signedIn = formatDate(session.createdAt);
  const details = el(
    'div',
    { class: 'session-meta' },
    el(
      'div',
      { class: 'fw-semibold' },
      device,
      session.current && ' ',
      session.current && el('span', { class: 'badge text-bg-success' }, 'This device'),
    ),
    el(
      'div',
      { class: 'small text-body-secondary', title: session.userAgent ?? undefined },
      [
        session.ip ?? 'unknown address',
        `signed in ${signedIn}`,
        `last active ${formatDate(session.lastUsedAt)}`,
      ].join(' · '),
    ),
  );
  const item = el(
    'li',
    {
      class: 'list-group-item d-flex flex-wrap justify-content-between align-items-center gap-2',
      'data-session-id': session.id,
      'data-current': session.current ? 'true' : undefined,
    },
    details,
  );
  if (!session.current) {
    const revoke = el(
      'button',
      {
        type: 'button',
        class: 'btn btn-outline-danger btn-sm',
        'aria-label': `Revoke the session of ${device}, signed in ${signedIn}`,
        'data-busy-label': 'Revoking…',
      },
      'Revoke',
    );
    revoke.addEventListener('click', () => {
      void withBusy(revoke, sessionsAlert, async () => {
        await call(`/api/auth/sessions/${encodeURIComponent(session.id)}`, { method: 'DELETE' });
        await loadSessions();
        showAlert(sessionsAlert, 'success', `The session of ${device} was revoked.`);
        byId('sessions-title').focus();
      });
    });
    item.append(revoke);
  }
  return item;
}

async function loadSessions(): Promise<void> {
  const sessions = await call<Session[]>('/api/auth/sessions');
  sessionsList.replaceChildren(...sessions.map(sessionItem));
  sessionsList.setAttribute('data-count', String(sessions.length));
}

function wireSessionButtons(): void {
  const reload = byId<HTMLButtonElement>('sessions-reload');
  reload.addEventListener('click', () => {
    void withBusy(reload, sessionsAlert, loadSessions);
  });
  const others = byId<HTMLButtonElement>('logout-others');
  others.addEventListener('click', () => {
    void withBusy(others, sessionsAlert, async () => {
      await call('/api/auth/logout', { method: 'POST', body: { scope: 'others' } });
      await loadSessions();
      showAlert(sessionsAlert, 'success', 'Your other sessions have been signed out.');
    });
  });
  for (const [id, scope] of [
    ['logout-here', 'local'],
    ['logout-everywhere', 'global'],
  ] as const) {
    const button = byId<HTMLButtonElement>(id);
    button.addEventListener(
      'click',
      () => void withBusy(button, sessionsAlert, () => logout(scope)),
    );
  }
}

async function main(): Promise<void> {
  const user = await requireSession();
  showSignedIn(user, pageAlert);
  fillProfile(user);
  wireSessionButtons();
  await Promise.all([loadSessions(), mountSecondFactors()]);
  reveal(byId('account'));
  watchSession();
}

main().catch((error: unknown) => {
  if (error instanceof SignedOut) return;
  byId('loading').hidden = true;
  showAlert(pageAlert, 'danger', errorMessage(error), ' Reload the page to try again.');
});
