// Forms: submit handling with a busy button, and API errors shown where they belong: a
// field's message under that field (Bootstrap `is-invalid` + `invalid-feedback`, linked by
// aria-describedby), anything else in the form's alert area.
import { ApiError } from './api.js';
import { el } from './dom.js';
import { SignedOut } from './session.js';

type Control = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;

export interface FormOptions {
  /** Where messages that belong to no field go (an element with aria-live). */
  alert: HTMLElement;
  /** API field names that the form calls otherwise, e.g. `{ email: 'identifier' }`. */
  fields?: Record<string, string>;
  /** Error codes that are about one field, e.g. `{ EMAIL_TAKEN: 'email' }`. */
  codes?: Record<string, string>;
  /**
   * A submit while busy runs again afterwards (search filters: the last choice wins)
   * instead of being ignored (sign-in: one click, one session).
   */
  rerunWhenBusy?: boolean;
}

/**
 * Handles `submit`: checks required fields, shows the submit button busy (and ignores
 * further submits) while `handler` runs, and shows its errors.
 */
export function onSubmit(
  form: HTMLFormElement,
  options: FormOptions,
  handler: () => Promise<void>,
): void {
  form.noValidate = true; // our messages, placed like the API's, instead of the browser's bubbles
  form.addEventListener('input', (event) => {
    if (isControl(event.target)) clearFieldError(event.target);
  });
  let again = false;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (form.getAttribute('aria-busy') === 'true') {
      again = Boolean(options.rerunWhenBusy);
      return;
    }
    clearErrors(form, options.alert);
    if (!checkRequired(form)) return;
    const button = form.querySelector<HTMLButtonElement>('button[type="submit"]');
    form.setAttribute('aria-busy', 'true');
    const restore = button ? setBusy(button) : () => undefined;
    handler()
      .catch((error: unknown) => showError(form, options, error))
      .finally(() => {
        form.removeAttribute('aria-busy');
        restore();
        if (again) {
          again = false;
          form.requestSubmit();
        }
      });
  });
}

/** Runs `action` with `button` busy; errors go to `alert`. For buttons outside forms. */
export async function withBusy(
  button: HTMLButtonElement,
  alert: HTMLElement,
  action: () => Promise<void>,
): Promise<void> {
  if (button.disabled) return;
  alert.replaceChildren();
  const restore = setBusy(button);
  try {
    await action();
  } catch (error) {
    if (!(error instanceof SignedOut)) showAlert(alert, 'danger', errorMessage(error));
  } finally {
    restore();
  }
}

/**
 * Disables the button and shows a spinner with its `data-busy-label` ("Saving..."); the
 * returned function puts it back.
 */
export function setBusy(button: HTMLButtonElement): () => void {
  const content = [...button.childNodes];
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  button.replaceChildren(
    el('span', { class: 'spinner-border spinner-border-sm me-2', 'aria-hidden': 'true' }),
    button.dataset.busyLabel ?? 'Please wait…',
  );
  return () => {
    button.replaceChildren(...content);
    button.disabled = false;
    button.removeAttribute('aria-busy');
  };
}

export type AlertKind = 'danger' | 'success' | 'info' | 'warning';

/** Replaces the content of `container` with one Bootstrap alert. */
export function showAlert(
  container: HTMLElement,
  kind: AlertKind,
  message: string,
  ...extra: (Node | string)[]
): HTMLElement {
  const alert = el(
    'div',
    { class: `alert alert-${kind}`, role: kind === 'danger' ? 'alert' : 'status' },
    message,
    ...extra,
  );
  container.replaceChildren(alert);
  return alert;
}

/** The sentence to show for an error, with the wait of a 429. */
export function errorMessage(error: unknown): string {
  if (!(error instanceof ApiError)) {
    console.error(error);
    return 'Something went wrong. Please try again.';
  }
  if (error.status === 429 && error.retryAfter !== undefined) {
    return `${error.problem.detail} You can try again in ${error.retryAfter} second${error.retryAfter === 1 ? '' : 's'}.`;
  }
  return error.problem.detail;
}

/** Shows an error from a form's handler next to its fields, or in the form's alert. */
export function showError(form: HTMLFormElement, options: FormOptions, error: unknown): void {
  if (error instanceof SignedOut) return;
  if (!(error instanceof ApiError)) {
    showAlert(options.alert, 'danger', errorMessage(error));
    return;
  }
  const unplaced: string[] = [];
  const fieldErrors = error.problem.errors ?? [];
  for (const { field, message } of fieldErrors) {
    if (!setFieldError(form, options.fields?.[field] ?? field, message)) unplaced.push(message);
  }
  const codeField = options.codes?.[error.code];
  if (fieldErrors.length === 0) {
    if (!codeField || !setFieldError(form, codeField, error.problem.detail)) {
      unplaced.push(errorMessage(error));
    }
  }
  if (unplaced.length) showAlert(options.alert, 'danger', unplaced.join(' '));
  form.querySelector<HTMLElement>('.is-invalid')?.focus();
}

/** Marks one control invalid with `message` under it; false if the form has no such field. */
export function setFieldError(form: HTMLFormElement, name: string, message: string): boolean {
  const control = form.elements.namedItem(name);
  if (!isControl(control)) return false;
  control.classList.add('is-invalid');
  control.setAttribute('aria-invalid', 'true');
  feedbackFor(control).textContent = message;
  return true;
}

export function clearErrors(form: HTMLFormElement, alert?: HTMLElement): void {
  for (const control of form.querySelectorAll<Control>('.is-invalid')) clearFieldError(control);
  alert?.replaceChildren();
}

/** The value of a text field, trimmed (passwords: use `password()`, spaces count there). */
export function text(form: HTMLFormElement, name: string): string {
  return control(form, name).value.trim();
}

/** A password field's value exactly as typed. */
export function password(form: HTMLFormElement, name: string): string {
  return control(form, name).value;
}

export function checked(form: HTMLFormElement, name: string): boolean {
  return (control(form, name) as HTMLInputElement).checked;
}

/** Empty text becomes null: the API clears optional fields with null. */
export function textOrNull(form: HTMLFormElement, name: string): string | null {
  return text(form, name) || null;
}

export function control(form: HTMLFormElement, name: string): Control {
  const found = form.elements.namedItem(name);
  if (!isControl(found)) throw new Error(`form #${form.id} has no field "${name}"`);
  return found;
}

/** Client-side: required fields filled and emails shaped like one, before any request. */
function checkRequired(form: HTMLFormElement): boolean {
  let ok = true;
  for (const element of form.elements) {
    if (!isControl(element) || element.disabled) continue;
    const value = element.type === 'password' ? element.value : element.value.trim();
    if (element.required && value === '') {
      setFieldError(form, element.name, `${labelOf(element)} is required.`);
      ok = false;
    } else if (element.type === 'email' && value !== '' && !/^[^\s@]+@[^\s@]+$/.test(value)) {
      setFieldError(form, element.name, 'Enter an email address such as ada@example.com.');
      ok = false;
    }
  }
  if (!ok) form.querySelector<HTMLElement>('.is-invalid')?.focus();
  return ok;
}

function labelOf(control: Control): string {
  const label = control.labels?.[0]?.textContent?.trim().replace(/\s*\(optional\)$/i, '');
  return label || control.name;
}

function feedbackFor(control: Control): HTMLElement {
  const id = `${control.id || control.name}-error`;
  let feedback = document.getElementById(id);
  if (!feedback) {
    feedback = el('div', { id, class: 'invalid-feedback' });
    // Last in the control's wrapper: Bootstrap shows `.is-invalid ~ .invalid-feedback`.
    (control.parentElement ?? control).append(feedback);
    const describedBy = control.getAttribute('aria-describedby');
    control.setAttribute('aria-describedby', describedBy ? `${describedBy} ${id}` : id);
  }
  return feedback;
}

function clearFieldError(control: Control): void {
  control.classList.remove('is-invalid');
  control.removeAttribute('aria-invalid');
  const feedback = document.getElementById(`${control.id || control.name}-error`);
  if (feedback) feedback.textContent = '';
}

function isControl(value: unknown): value is Control {
  return (
    value instanceof HTMLInputElement ||
    value instanceof HTMLSelectElement ||
    value instanceof HTMLTextAreaElement
  );
}
