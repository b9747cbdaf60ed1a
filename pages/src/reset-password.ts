// /reset-password?token=...: the link of the reset email. Opening it changes nothing; the
// token is used only when the new password is submitted.
import { byId, queryParam, show } from './lib/dom.js';
import { wireResetForm } from './lib/reset.js';

const token = queryParam('token');
if (token) {
  wireResetForm(() => token);
  show(byId('reset-form'));
  byId('reset-new-password').focus();
} else {
  show(byId('reset-missing'));
}
