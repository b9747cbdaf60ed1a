// /account's "Two-step sign-in" and "Passkeys" cards: an authenticator app (QR code, key,
// confirm, recovery codes to copy or download, removal), and passkeys (add, rename,
// remove). Writes that need a recent sign-in (403 REAUTH_REQUIRED) ask for the password
// once in the "Confirm it is you" form, then run again.
import { ApiError } from './api.js';
import { byId, el, formatDate, show } from './dom.js';
import { onSubmit, password, showAlert, text, withBusy } from './forms.js';
import { call } from './session.js';
import type { Me, Passkey } from './types.js';
import { createPasskey, passkeysSupported } from './webauthn.js';

const mfaAlert = byId('mfa-alert');
const passkeysAlert = byId('passkeys-alert');
const passkeysList = byId('passkeys-list');

/** Runs `action`; on 403 REAUTH_REQUIRED asks for the password, then runs it once more. */
async function withRecentAuth<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (!(error instanceof ApiError && error.code === 'REAUTH_REQUIRED')) throw error;
    await confirmIdentity();
    return action();
  }
}

let reauthWaiting: { resolve: () => void; reject: (error: Error) => void } | undefined;

function confirmIdentity(): Promise<void> {
  const form = byId<HTMLFormElement>('reauth-form');
  show(form);
  byId('reauth-title').focus();
  byId<HTMLInputElement>('reauth-password').focus();
  return new Promise((resolve, reject) => {
    reauthWaiting = { resolve, reject };
  });
}

function wireReauthentication(): void {
  const form = byId<HTMLFormElement>('reauth-form');
  onSubmit(form, { alert: byId('reauth-alert') }, async () => {
    await call('/api/auth/reauthenticate', {
      method: 'POST',
      body: { password: password(form, 'password') },
    });
    form.reset();
    show(form, false);
    reauthWaiting?.resolve();
    reauthWaiting = undefined;
  });
  byId('reauth-cancel').addEventListener('click', () => {
    form.reset();
    show(form, false);
    reauthWaiting?.reject(new Error('You cancelled: nothing was changed.'));
    reauthWaiting = undefined;
  });
}

// --- Two-step sign-in (authenticator app, recovery codes) ---------------------------------

function showRecoveryCodes(codes: string[]): void {
  byId('recovery-codes').replaceChildren(...codes.map((code) => el('li', {}, code)));
  show(byId('recovery-codes-area'));
  byId('recovery-codes-title').focus();
}

function recoveryCodesText(): string {
  const codes = [...byId('recovery-codes').querySelectorAll('li')].map((li) => li.textContent);
  return `Recovery codes for ${location.host} (each works once):\n${codes.join('\n')}\n`;
}

function wireRecoveryCodes(refresh: () => Promise<void>): void {
  const copy = byId<HTMLButtonElement>('recovery-copy');
  copy.addEventListener('click', () => {
    void withBusy(copy, mfaAlert, async () => {
      await navigator.clipboard.writeText(recoveryCodesText());
      showAlert(mfaAlert, 'success', 'The recovery codes were copied.');
    });
  });
  byId('recovery-download').addEventListener('click', () => {
    const url = URL.createObjectURL(new Blob([recoveryCodesText()], { type: 'text/plain' }));
    const link = el('a', { href: url, download: 'recovery-codes.txt' });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  });
  const done = byId<HTMLButtonElement>('recovery-done');
  done.addEventListener('click', () => {
    byId('recovery-codes').replaceChildren();
    show(byId('recovery-codes-area'), false);
    void withBusy(done, mfaAlert, refresh);
  });
}

function wireTotp(refresh: () => Promise<void>): void {
  const startForm = byId<HTMLFormElement>('totp-start-form');
  const confirmForm = byId<HTMLFormElement>('totp-confirm-form');
  byId('totp-start').addEventListener('click', () => {
    show(byId('totp-off'), false);
    show(startForm);
    byId('totp-password').focus();
  });
  onSubmit(startForm, { alert: mfaAlert }, async () => {
    const enrolment = await call<{ secret: string; qrSvg: string }>('/api/auth/mfa/totp', {
      method: 'POST',
      body: { password: password(startForm, 'password') },
    });
    startForm.reset();
    show(startForm, false);
    // A data: URL: the CSP allows images from it, and no markup from the server is parsed.
    byId<HTMLImageElement>('totp-qr').src =
      `data:image/svg+xml;charset=utf-8,${encodeURIComponent(enrolment.qrSvg)}`;
    byId('totp-secret').textContent = enrolment.secret.replace(/(.{4})/g, '$1 ').trim();
    show(confirmForm);
    byId('totp-code').focus();
  });
  onSubmit(confirmForm, { alert: mfaAlert }, async () => {
    const { recoveryCodes } = await call<{ recoveryCodes: string[] }>(
      '/api/auth/mfa/totp/confirm',
      { method: 'POST', body: { code: text(confirmForm, 'code') } },
    );
    confirmForm.reset();
    show(confirmForm, false);
    showAlert(mfaAlert, 'success', 'Two-step sign-in is on.');
    showRecoveryCodes(recoveryCodes);
    await refresh();
  });
  const manage = byId<HTMLFormElement>('totp-manage-form');
  const proof = () => {
    const value = text(manage, 'code');
    // Six digits are an authenticator code; anything else is a recovery code.
    return /^\d{6}$/.test(value.replace(/\s/g, '')) ? { code: value } : { recoveryCode: value };
  };
  const filled = () => {
    const missing = ['password', 'code'].filter((name) => text(manage, name) === '');
    if (missing.length > 0) {
      showAlert(mfaAlert, 'danger', 'Enter your password and a code first.');
      return false;
    }
    return true;
  };
  const disable = byId<HTMLButtonElement>('totp-disable');
  disable.addEventListener('click', () => {
    if (!filled()) return;
    void withBusy(disable, mfaAlert, async () => {
      await withRecentAuth(() =>
        call('/api/auth/mfa/totp', {
          method: 'DELETE',
          body: { password: password(manage, 'password'), ...proof() },
        }),
      );
      manage.reset();
      showAlert(mfaAlert, 'success', 'The authenticator app was removed.');
      await refresh();
    });
  });
  const regenerate = byId<HTMLButtonElement>('recovery-regenerate');
  regenerate.addEventListener('click', () => {
    if (!filled()) return;
    void withBusy(regenerate, mfaAlert, async () => {
      const { recoveryCodes } = await withRecentAuth(() =>
        call<{ recoveryCodes: string[] }>('/api/auth/mfa/recovery-codes', {
          method: 'POST',
          body: { password: password(manage, 'password'), ...proof() },
        }),
      );
      manage.reset();
      showRecoveryCodes(recoveryCodes);
    });
  });
}

function showMfaState(me: Me): void {
  const { methods, recoveryCodesRemaining } = me.mfa;
  const hasTotp = methods.includes('totp');
  const parts = [
    methods.length === 0
      ? 'Off: signing in needs only your password.'
      : 'On: signing in with your password also asks for a second step.',
    hasTotp ? 'Authenticator app: set up.' : '',
    methods.length > 0 ? `Recovery codes left: ${recoveryCodesRemaining}.` : '',
  ];
  byId('mfa-status').textContent = parts.filter(Boolean).join(' ');
  const enrolling = !byId('totp-start-form').hidden || !byId('totp-confirm-form').hidden;
  show(byId('totp-off'), !hasTotp && !enrolling);
  show(byId('totp-manage-form'), methods.length > 0);
  show(byId('totp-disable'), hasTotp);
  byId('totp-manage-help').textContent = hasTotp
    ? 'To remove the authenticator app or get new recovery codes, enter your password and a current code (or a recovery code).'
    : 'To get new recovery codes, enter your password and one of your recovery codes.';
  byId('totp-manage-code').previousElementSibling!.textContent = hasTotp
    ? 'Code or recovery code'
    : 'Recovery code';
}

// --- Passkeys -------------------------------------------------------------------------------

function passkeyItem(passkey: Passkey, reload: () => Promise<void>): HTMLLIElement {
  const name = el('span', { class: 'fw-semibold passkey-name' }, passkey.name);
  const meta = el(
    'div',
    { class: 'small text-body-secondary' },
    [
      passkey.backedUp ? 'synced' : 'this device only',
      `added ${formatDate(passkey.createdAt)}`,
      `last used ${formatDate(passkey.lastUsedAt, 'never')}`,
    ].join(' · '),
  );
  const rename = el(
    'button',
    {
      type: 'button',
      class: 'btn btn-outline-secondary btn-sm',
      'aria-label': `Rename ${passkey.name}`,
    },
    'Rename',
  );
  const remove = el(
    'button',
    {
      type: 'button',
      class: 'btn btn-outline-danger btn-sm',
      'aria-label': `Remove ${passkey.name}`,
      'data-busy-label': 'Removing…',
    },
    'Remove',
  );
  const item = el(
    'li',
    {
      class: 'list-group-item d-flex flex-wrap justify-content-between align-items-center gap-2',
      'data-passkey-id': passkey.id,
    },
    el('div', {}, name, meta),
    el('div', { class: 'd-flex gap-2' }, rename, remove),
  );
  remove.addEventListener('click', () => {
    void withBusy(remove, passkeysAlert, async () => {
      await withRecentAuth(() =>
        call(`/api/auth/passkeys/${encodeURIComponent(passkey.id)}`, { method: 'DELETE' }),
      );
      await reload();
      showAlert(passkeysAlert, 'success', `The passkey "${passkey.name}" was removed.`);
      byId('passkeys-title').focus();
    });
  });
  rename.addEventListener('click', () => {
    const input = el('input', {
      class: 'form-control form-control-sm',
      value: passkey.name,
      maxlength: '64',
      'aria-label': `New name for ${passkey.name}`,
    });
    const save = el('button', { type: 'submit', class: 'btn btn-primary btn-sm' }, 'Save');
    const form = el('form', { class: 'd-flex gap-2 flex-grow-1' }, input, save);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void withBusy(save, passkeysAlert, async () => {
        await call(`/api/auth/passkeys/${encodeURIComponent(passkey.id)}`, {
          method: 'PATCH',
          body: { name: input.value.trim() },
        });
        await reload();
        showAlert(passkeysAlert, 'success', 'The passkey was renamed.');
      });
    });
    item.replaceChildren(form);
    input.focus();
  });
  return item;
}

function wirePasskeys(refresh: () => Promise<void>): void {
  const form = byId<HTMLFormElement>('passkey-add-form');
  if (!passkeysSupported()) {
    show(form, false);
    showAlert(passkeysAlert, 'info', 'This browser cannot use passkeys.');
    return;
  }
  onSubmit(form, { alert: passkeysAlert }, async () => {
    const name = text(form, 'name');
    const added = await withRecentAuth(async () => {
      const options = await call<unknown>('/api/auth/passkeys/registration/options', {
        method: 'POST',
        body: {},
      });
      const credential = await createPasskey(options);
      return call<{ passkey: Passkey; recoveryCodes?: string[] }>(
        '/api/auth/passkeys/registration',
        { method: 'POST', body: { credential, ...(name ? { name } : {}) } },
      );
    });
    form.reset();
    showAlert(passkeysAlert, 'success', `The passkey "${added.passkey.name}" was added.`);
    if (added.recoveryCodes) {
      showAlert(mfaAlert, 'success', 'Two-step sign-in is on.');
      showRecoveryCodes(added.recoveryCodes);
    }
    await refresh();
  });
}

/** Fills both cards from `/api/auth/me` and the passkey list, and wires their controls. */
export async function mountSecondFactors(): Promise<void> {
  const refresh = async () => {
    const [me, passkeys] = await Promise.all([
      call<Me>('/api/auth/me'),
      call<Passkey[]>('/api/auth/passkeys'),
    ]);
    showMfaState(me);
    passkeysList.replaceChildren(...passkeys.map((passkey) => passkeyItem(passkey, refresh)));
    passkeysList.setAttribute('data-count', String(passkeys.length));
    show(passkeysList, passkeys.length > 0);
  };
  wireReauthentication();
  wireRecoveryCodes(refresh);
  wireTotp(refresh);
  wirePasskeys(refresh);
  await refresh();
}
