// /login: email or username and password, then the second step when the account has a
// second factor (an authenticator code, a passkey or a recovery code); or a passkey alone,
// with no password. Comes back to `?next=` (a path of this site) or goes to /account; an
// open session in this tab skips the form.
import { ApiError, send } from './lib/api.js';
import { byId, el, queryParam, show } from './lib/dom.js';
import { onSubmit, password, showAlert, text, withBusy } from './lib/forms.js';
import {
  adopt,
  login,
  mightBeSignedIn,
  refresh,
  verifySecondStep,
  type Credentials,
} from './lib/session.js';
import type { MfaRequired, TokenResponse } from './lib/types.js';
import { passkeysSupported, usePasskey } from './lib/webauthn.js';

const form = byId<HTMLFormElement>('login-form');
const alert = byId('login-alert');
const notice = byId('login-notice');
const mfaForm = byId<HTMLFormElement>('mfa-form');
const mfaAlert = byId('mfa-alert');

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
    const answer = await login(credentials);
    if ('mfa_required' in answer) {
      secondStep(answer);
      return;
    }
  } catch (error) {
    if (error instanceof ApiError && error.code === 'EMAIL_NOT_VERIFIED' && credentials.email) {
      offerNewVerificationLink(credentials.email, error.problem.detail);
      return;
    }
    throw error;
  }
  location.assign(nextPage());
});

/** The second step: the password form gives way to the code (or passkey) form. */
let pending: MfaRequired | undefined;
let useRecovery = false;

function secondStep(answer: MfaRequired): void {
  pending = answer;
  const hasTotp = answer.methods.includes('totp');
  const hasPasskey = answer.methods.includes('webauthn') && passkeysSupported();
  show(form, false);
  show(byId('passkey-login-area'), false);
  show(mfaForm);
  show(byId('mfa-passkey'), hasPasskey);
  // With a passkey and no authenticator app, the passkey is the way; codes stay a choice.
  setRecoveryMode(!hasTotp && !hasPasskey);
  byId('mfa-intro').textContent = hasTotp
    ? hasPasskey
      ? 'Enter the 6-digit code from your authenticator app, or use a passkey.'
      : 'Enter the 6-digit code from your authenticator app.'
    : hasPasskey
      ? 'Confirm with your passkey.'
      : 'Enter one of your recovery codes.';
  if (!hasTotp) show(byId('mfa-code-group'), false);
  if (!hasTotp && hasPasskey) {
    show(byId('mfa-submit'), false);
    byId('mfa-passkey').classList.replace('btn-outline-primary', 'btn-primary');
  }
  (hasTotp
    ? byId('mfa-code')
    : hasPasskey
      ? byId('mfa-passkey')
      : byId('mfa-recovery-code')
  ).focus();
}

function setRecoveryMode(on: boolean): void {
  useRecovery = on;
  const code = byId<HTMLInputElement>('mfa-code');
  const recovery = byId<HTMLInputElement>('mfa-recovery-code');
  show(byId('mfa-code-group'), !on);
  show(byId('mfa-recovery-group'), on);
  code.disabled = on;
  code.required = !on;
  recovery.disabled = !on;
  recovery.required = on;
  show(byId('mfa-submit'));
  byId('mfa-use-recovery').textContent = on ? 'Use my authenticator app' : 'Use a recovery code';
  show(byId('mfa-use-recovery'), Boolean(pending?.methods.includes('totp')) || !on);
}

byId('mfa-use-recovery').addEventListener('click', () => {
  setRecoveryMode(!useRecovery);
  (useRecovery ? byId('mfa-recovery-code') : byId('mfa-code')).focus();
});

onSubmit(mfaForm, { alert: mfaAlert }, async () => {
  if (!pending) return;
  await finishSecondStep(
    useRecovery ? { recoveryCode: text(mfaForm, 'recoveryCode') } : { code: text(mfaForm, 'code') },
  );
});

const mfaPasskey = byId<HTMLButtonElement>('mfa-passkey');
mfaPasskey.addEventListener('click', () => {
  void withBusy(mfaPasskey, mfaAlert, async () => {
    if (!pending) return;
    const options = await send<unknown>('/api/auth/mfa/webauthn/options', {
      method: 'POST',
      body: { mfa_token: pending.mfa_token },
    });
    await finishSecondStep({ webauthn: await usePasskey(options) });
  });
});

async function finishSecondStep(
  proof: { code: string } | { recoveryCode: string } | { webauthn: unknown },
): Promise<void> {
  try {
    await verifySecondStep(pending!.mfa_token, proof);
  } catch (error) {
    // A dead or expired mfa_token: back to the password.
    if (
      error instanceof ApiError &&
      (error.code === 'INVALID_MFA_TOKEN' || error.code === 'TOO_MANY_ATTEMPTS')
    ) {
      pending = undefined;
      show(mfaForm, false);
      show(form);
      show(byId('passkey-login-area'), passkeysSupported());
      showAlert(alert, 'warning', `${error.problem.detail} Please sign in again.`);
      form.querySelector<HTMLInputElement>('input[name="password"]')!.value = '';
      return;
    }
    throw error;
  }
  location.assign(nextPage());
}

/** A passkey alone: no username, no password (a discoverable credential). */
const passkeyButton = byId<HTMLButtonElement>('passkey-login');
show(byId('passkey-login-area'), passkeysSupported());
passkeyButton.addEventListener('click', () => {
  void withBusy(passkeyButton, byId('passkey-login-alert'), async () => {
    const options = await send<unknown>('/api/auth/passkeys/login/options', {
      method: 'POST',
      body: {},
    });
    const credential = await usePasskey(options);
    adopt(
      await send<TokenResponse>('/api/auth/passkeys/login', {
        method: 'POST',
        body: { credential },
      }),
    );
    location.assign(nextPage());
  });
});

const reason = queryParam('reason');
if (reason && NOTICES[reason]) showAlert(notice, 'info', NOTICES[reason]);

if (mightBeSignedIn()) {
  refresh().then(
    (signedIn) => signedIn && location.replace(nextPage()),
    () => undefined, // the server is unreachable: the form stays, and says so on submit
  );
}
