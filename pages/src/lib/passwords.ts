// New-password fields come in pairs; a typo is caught before anything is sent.
import { password, setFieldError } from './forms.js';

/** False (and a message under the second field) when the two fields differ. */
export function samePasswords(form: HTMLFormElement, first: string, second: string): boolean {
  if (password(form, first) === password(form, second)) return true;
  setFieldError(form, second, 'The two passwords are not the same.');
  form.querySelector<HTMLElement>('.is-invalid')?.focus();
  return false;
}
