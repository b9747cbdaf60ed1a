// /admin: the users table (search, filters, pages), role and active toggles, delete, the
// reset of a user's two-step sign-in, and a create form. Shown to admins only: anyone else
// gets "Not allowed" and no data is asked for. Every admin write needs a recent sign-in
// (403 REAUTH_REQUIRED): the page then asks for the admin's password once, in the "Confirm
// it is you" form, and runs the write again.
import { ApiError } from './lib/api.js';
import { byId, el, formatDate, show } from './lib/dom.js';
import {
  checked,
  clearErrors,
  errorMessage,
  onSubmit,
  password,
  showAlert,
  text,
  withBusy,
} from './lib/forms.js';
import { reveal, showSignedIn } from './lib/layout.js';
import { call, requireSession, SignedOut, watchSession } from './lib/session.js';
import type { Role, User, UserPage } from './lib/types.js';

const PAGE_SIZE = 20;
const pageAlert = byId('page-alert');
const listAlert = byId('list-alert');
const filterForm = byId<HTMLFormElement>('filter-form');
const createForm = byId<HTMLFormElement>('create-form');
const tbody = byId('users-body');
const prev = byId<HTMLButtonElement>('page-prev');
const next = byId<HTMLButtonElement>('page-next');

/** The list's query; mirrored in the address bar so a reload or a shared link keeps it. */
const state = { page: 1, search: '', role: '', active: '', mfaEnabled: '' };
let lastPage = 1;

function readStateFromUrl(): void {
  const query = new URLSearchParams(location.search);
  state.page = Math.max(1, Number.parseInt(query.get('page') ?? '1', 10) || 1);
  state.search = query.get('search') ?? '';
  state.role = ['USER', 'ADMIN'].includes(query.get('role') ?? '') ? query.get('role')! : '';
  state.active = ['true', 'false'].includes(query.get('active') ?? '') ? query.get('active')! : '';
  state.mfaEnabled = ['true', 'false'].includes(query.get('mfaEnabled') ?? '')
    ? query.get('mfaEnabled')!
    : '';
  (filterForm.elements.namedItem('search') as HTMLInputElement).value = state.search;
  (filterForm.elements.namedItem('role') as HTMLSelectElement).value = state.role;
  (filterForm.elements.namedItem('active') as HTMLSelectElement).value = state.active;
  (filterForm.elements.namedItem('mfaEnabled') as HTMLSelectElement).value = state.mfaEnabled;
}

function listQuery(): URLSearchParams {
  const query = new URLSearchParams({ page: String(state.page), limit: String(PAGE_SIZE) });
  if (state.search) query.set('search', state.search);
  if (state.role) query.set('role', state.role);
  if (state.active) query.set('active', state.active);
  if (state.mfaEnabled) query.set('mfaEnabled', state.mfaEnabled);
  return query;
}

function refuse(): void {
  show(byId('loading'), false);
  show(byId('admin'), false);
  show(byId('not-allowed'));
}

async function loadUsers(): Promise<void> {
  let result: UserPage;
  try {
    result = await call<UserPage>(`/api/users?${listQuery().toString()}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) return refuse();
    throw error;
  }
  const pageQuery = listQuery();
  pageQuery.delete('limit');
  history.replaceState(null, '', `/admin?${pageQuery.toString()}`);
  tbody.replaceChildren(...result.items.map(userRow));
  if (result.items.length === 0) {
    tbody.append(
      el('tr', {}, el('td', { colspan: '8', class: 'text-body-secondary' }, 'No user matches.')),
    );
  }
  lastPage = Math.max(1, Math.ceil(result.total / result.limit));
  const first = (result.page - 1) * result.limit + 1;
  byId('list-summary').textContent =
    result.items.length === 0
      ? `No users on page ${result.page}.`
      : `Showing ${first}–${first + result.items.length - 1} of ${result.total} user${result.total === 1 ? '' : 's'}.`;
  byId('page-info').textContent = `Page ${result.page} of ${lastPage}`;
  prev.disabled = result.page <= 1;
  next.disabled = result.page >= lastPage;
}

function displayName(user: User): string {
  const name = [user.firstName, user.lastName].filter(Boolean).join(' ');
  if (name && user.username) return `${name} (${user.username})`;
  return name || user.username || '—';
}

function userRow(user: User): HTMLTableRowElement {
  const otherRole: Role = user.role === 'ADMIN' ? 'USER' : 'ADMIN';
  const roleButton = actionButton(
    user.role === 'ADMIN' ? 'Make user' : 'Make admin',
    `${user.role === 'ADMIN' ? 'Make user' : 'Make admin'}: ${user.email}`,
    'btn-outline-secondary',
    async () => {
      await update(user, { role: otherRole });
      showAlert(
        listAlert,
        'success',
        `${user.email} is now ${otherRole === 'ADMIN' ? 'an admin' : 'a user'}.`,
      );
    },
  );
  const activeLabel = user.active ? 'Deactivate' : 'Activate';
  const activeButton = actionButton(
    activeLabel,
    `${activeLabel}: ${user.email}`,
    'btn-outline-secondary',
    async () => {
      await update(user, { active: !user.active });
      showAlert(
        listAlert,
        'success',
        user.active
          ? `${user.email} is deactivated and signed out everywhere.`
          : `${user.email} is active again.`,
      );
    },
  );
  const cell = (label: string, ...content: (Node | string | null)[]) =>
    el('td', { 'data-label': label }, ...content);
  const wrapping = (label: string, content: string) =>
    el('td', { 'data-label': label, class: 'admin-wrap' }, content);
  return el(
    'tr',
    { 'data-user-id': user.id, 'data-email': user.email },
    cell(
      'Email',
      el('span', { class: 'text-break' }, user.email),
      user.emailVerified ? null : ' ',
      user.emailVerified
        ? null
        : el('span', { class: 'badge text-bg-light border' }, 'unconfirmed'),
    ),
    wrapping('Name', displayName(user)),
    cell(
      'Role',
      badge(
        user.role === 'ADMIN' ? 'primary' : 'secondary',
        user.role === 'ADMIN' ? 'Admin' : 'User',
      ),
    ),
    cell('Status', badge(user.active ? 'success' : 'danger', user.active ? 'Active' : 'Inactive')),
    cell('2-step', user.mfaEnabled ? 'Yes' : 'No'),
    wrapping('Last sign-in', formatDate(user.lastLoginAt, 'never')),
    wrapping('Created', formatDate(user.createdAt)),
    el(
      'td',
      { class: 'admin-actions' },
      el(
        'div',
        { class: 'd-flex flex-wrap gap-1 justify-content-md-end' },
        roleButton,
        activeButton,
        user.mfaEnabled ? mfaResetButton(user) : null,
        deleteButton(user),
      ),
    ),
  );
}

function badge(color: string, label: string): HTMLSpanElement {
  return el('span', { class: `badge text-bg-${color}` }, label);
}

function actionButton(
  label: string,
  accessibleName: string,
  style: string,
  action: () => Promise<void>,
): HTMLButtonElement {
  const button = el(
    'button',
    {
      type: 'button',
      class: `btn btn-sm ${style}`,
      'aria-label': accessibleName,
      'data-busy-label': '…',
    },
    label,
  );
  button.addEventListener(
    'click',
    () => void withBusy(button, listAlert, unlessCancelled(listAlert, action)),
  );
  return button;
}

/**
 * "Reset two-step sign-in" (users with a second factor only): removes their authenticator,
 * passkeys and recovery codes and ends their sessions, so a locked-out user can sign in with
 * the password alone and enrol again. The focus lands back on the user's row afterwards.
 */
function mfaResetButton(user: User): HTMLButtonElement {
  return actionButton(
    'Reset two-step',
    `Reset two-step sign-in: ${user.email}`,
    'btn-outline-danger',
    async () => {
      try {
        await withRecentAuth(() =>
          call(`/api/users/${encodeURIComponent(user.id)}/mfa`, { method: 'DELETE' }),
        );
      } catch (error) {
        // Someone else reset it meanwhile: the row is out of date, and the goal is reached.
        if (!(error instanceof ApiError && error.code === 'MFA_NOT_ENABLED')) throw error;
      }
      await loadUsers();
      const alert = showAlert(
        listAlert,
        'success',
        `Two-step sign-in is reset for ${user.email}: their authenticator app, passkeys and ` +
          'recovery codes are removed, and they are signed out everywhere. They can sign in ' +
          'with their password alone now.',
      );
      focusRow(user, alert);
    },
  );
}

/** Focuses the first action of the user's row, or `fallback` when the row is gone. */
function focusRow(user: User, fallback: HTMLElement): void {
  const row = [...tbody.querySelectorAll<HTMLTableRowElement>('tr[data-user-id]')].find(
    (tr) => tr.dataset.userId === user.id,
  );
  const target = row?.querySelector<HTMLButtonElement>('.admin-actions button');
  if (target) return target.focus();
  fallback.tabIndex = -1;
  fallback.focus();
}

/** Delete asks twice: the first press turns the button into "Confirm delete". */
function deleteButton(user: User): HTMLButtonElement {
  const button = el(
    'button',
    { type: 'button', class: 'btn btn-sm btn-outline-danger', 'data-busy-label': '…' },
    'Delete',
  );
  const confirming = (on: boolean) => {
    button.dataset.confirming = String(on);
    button.textContent = on ? 'Confirm delete' : 'Delete';
    button.setAttribute('aria-label', `${on ? 'Confirm delete' : 'Delete'}: ${user.email}`);
    button.classList.toggle('btn-danger', on);
    button.classList.toggle('btn-outline-danger', !on);
  };
  confirming(false);
  button.addEventListener('click', () => {
    if (button.dataset.confirming !== 'true') return confirming(true);
    void withBusy(
      button,
      listAlert,
      unlessCancelled(listAlert, async () => {
        await withRecentAuth(() =>
          call(`/api/users/${encodeURIComponent(user.id)}`, { method: 'DELETE' }),
        );
        await loadUsers();
        showAlert(listAlert, 'success', `${user.email} was deleted.`);
      }),
    );
  });
  button.addEventListener('blur', () => confirming(false));
  button.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') confirming(false);
  });
  return button;
}

async function update(user: User, change: Partial<Pick<User, 'role' | 'active'>>): Promise<void> {
  await withRecentAuth(() =>
    call<User>(`/api/users/${encodeURIComponent(user.id)}`, { method: 'PATCH', body: change }),
  );
  await loadUsers();
}

// --- Step-up: "Confirm it is you" ---------------------------------------------------------

/** The admin pressed Cancel in "Confirm it is you": the write was not made. */
class Cancelled extends Error {
  override readonly name = 'Cancelled';
}

/**
 * `action`, except that a Cancelled write is said in `alert` (which takes the focus, as the
 * form that had it is gone) instead of being an error.
 */
function unlessCancelled(alert: HTMLElement, action: () => Promise<void>): () => Promise<void> {
  return async () => {
    try {
      await action();
    } catch (error) {
      if (!(error instanceof Cancelled)) throw error;
      const message = showAlert(alert, 'info', error.message);
      message.tabIndex = -1;
      message.focus();
    }
  };
}

const reauthForm = byId<HTMLFormElement>('reauth-form');
/** The writes waiting for the password: one form, however many of them asked. */
let reauthWaiting:
  { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } | undefined;

/**
 * Runs `write`; on 403 REAUTH_REQUIRED asks for the admin's password in the inline form,
 * then runs it once more. Rejects with Cancelled when the admin cancels.
 */
async function withRecentAuth<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (!(error instanceof ApiError && error.code === 'REAUTH_REQUIRED')) throw error;
    await confirmIdentity();
    return write();
  }
}

function confirmIdentity(): Promise<void> {
  if (reauthWaiting) return reauthWaiting.promise;
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  reauthWaiting = { promise, resolve, reject };
  show(reauthForm);
  byId<HTMLInputElement>('reauth-password').focus();
  return promise;
}

function closeReauth(): void {
  reauthForm.reset();
  clearErrors(reauthForm, byId('reauth-alert'));
  show(reauthForm, false);
  reauthWaiting = undefined;
}

function wireReauthentication(): void {
  onSubmit(
    reauthForm,
    { alert: byId('reauth-alert'), codes: { INVALID_CURRENT_PASSWORD: 'password' } },
    async () => {
      await call('/api/auth/reauthenticate', {
        method: 'POST',
        body: { password: password(reauthForm, 'password') },
      });
      const waiting = reauthWaiting;
      closeReauth();
      waiting?.resolve();
    },
  );
  const cancel = () => {
    const waiting = reauthWaiting;
    closeReauth();
    waiting?.reject(new Cancelled('Cancelled: nothing was changed.'));
  };
  byId('reauth-cancel').addEventListener('click', cancel);
  reauthForm.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') cancel();
  });
}

function wireList(): void {
  onSubmit(filterForm, { alert: byId('filter-alert'), rerunWhenBusy: true }, async () => {
    state.search = text(filterForm, 'search');
    state.role = text(filterForm, 'role');
    state.active = text(filterForm, 'active');
    state.mfaEnabled = text(filterForm, 'mfaEnabled');
    state.page = 1;
    listAlert.replaceChildren();
    await loadUsers();
  });
  for (const id of ['filter-role', 'filter-active', 'filter-mfa']) {
    byId(id).addEventListener('change', () => filterForm.requestSubmit());
  }
  byId('filter-reset').addEventListener('click', () => {
    filterForm.reset();
    filterForm.requestSubmit();
  });
  prev.addEventListener('click', () => {
    state.page = Math.max(1, state.page - 1);
    void withBusy(prev, listAlert, loadUsers);
  });
  next.addEventListener('click', () => {
    state.page = Math.min(lastPage, state.page + 1);
    void withBusy(next, listAlert, loadUsers);
  });
}

function wireCreate(): void {
  onSubmit(
    createForm,
    {
      alert: byId('create-alert'),
      codes: { EMAIL_TAKEN: 'email', USERNAME_TAKEN: 'username', WEAK_PASSWORD: 'password' },
    },
    unlessCancelled(byId('create-alert'), async () => {
      const body: Record<string, unknown> = {
        email: text(createForm, 'email'),
        password: password(createForm, 'password'),
        role: text(createForm, 'role'),
        active: checked(createForm, 'active'),
        emailVerified: checked(createForm, 'emailVerified'),
      };
      for (const name of ['username', 'firstName', 'lastName']) {
        if (text(createForm, name)) body[name] = text(createForm, name);
      }
      const user = await withRecentAuth(() => call<User>('/api/users', { method: 'POST', body }));
      createForm.reset();
      showAlert(byId('create-alert'), 'success', `${user.email} was created.`);
      state.page = 1;
      await loadUsers();
    }),
  );
}

async function main(): Promise<void> {
  const me = await requireSession();
  showSignedIn(me, pageAlert);
  watchSession();
  if (me.role !== 'ADMIN') return refuse();
  readStateFromUrl();
  wireReauthentication();
  wireList();
  wireCreate();
  await loadUsers();
  if (!byId('not-allowed').hidden) return;
  reveal(byId('admin'));
}

main().catch((error: unknown) => {
  if (error instanceof SignedOut) return;
  show(byId('loading'), false);
  showAlert(pageAlert, 'danger', errorMessage(error), ' Reload the page to try again.');
});
