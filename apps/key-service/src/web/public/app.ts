import { AccountSection } from './account.js';
import { api, ApiError, type CreatedKey, type SessionUser } from './api.js';
import { byId, el, time } from './dom.js';
import {
  activityText,
  dateTime,
  errorsByField,
  expiryOf,
  STATUS_TEXT,
  type ActivityEntryView,
  type KeyView,
  type LeakResponse,
} from './format.js';

/**
 * The Settings web app: log in with an emailed code, then list, generate, edit, rotate and revoke
 * keys, and keep the account (time zone, sessions) in order.
 */

const FORM = '_form';
let user: SessionUser | null = null;
let loginEmail = '';
/** The key whose activity is shown (null: every key), and where its next page starts. */
let activityKey: KeyView | null = null;
let activityCursor: string | null = null;
/** The key a row's dialog acts on. */
let selected: KeyView | null = null;

const emailForm = byId<HTMLFormElement>('email-form');
const codeForm = byId<HTMLFormElement>('code-form');
const generateForm = byId<HTMLFormElement>('generate-form');
const contactsForm = byId<HTMLFormElement>('contacts-form');
const rotateForm = byId<HTMLFormElement>('rotate-form');
const revokeForm = byId<HTMLFormElement>('revoke-form');
const leakForm = byId<HTMLFormElement>('leak-form');
const closeCodeForm = byId<HTMLFormElement>('close-code-form');
const closeForm = byId<HTMLFormElement>('close-form');
const dialogs = {
  generate: byId<HTMLDialogElement>('generate-dialog'),
  reveal: byId<HTMLDialogElement>('reveal-dialog'),
  contacts: byId<HTMLDialogElement>('contacts-dialog'),
  rotate: byId<HTMLDialogElement>('rotate-dialog'),
  revoke: byId<HTMLDialogElement>('revoke-dialog'),
  leak: byId<HTMLDialogElement>('leak-dialog'),
  close: byId<HTMLDialogElement>('close-dialog'),
};

/** A list of email inputs, one per contact, that grows and shrinks. */
class ContactsEditor {
  private readonly list: HTMLUListElement;
  private readonly errorId: string;
  private readonly hintId: string;

  constructor(
    private readonly fieldset: HTMLFieldSetElement,
    private readonly name: string,
  ) {
    fieldset.append(byId<HTMLTemplateElement>('contacts-template').content.cloneNode(true));
    this.list = fieldset.querySelector('[data-contact-list]') as HTMLUListElement;
    this.errorId = `${name}-contacts-error`;
    this.hintId = `${name}-contacts-hint`;
    (fieldset.querySelector('[data-error-for="contacts"]') as HTMLElement).id = this.errorId;
    (fieldset.querySelector('[data-contacts-hint]') as HTMLElement).id = this.hintId;
    fieldset.querySelector('[data-add-contact]')?.addEventListener('click', () => this.add('').focus());
  }

  set(values: string[]): void {
    this.list.replaceChildren();
    for (const value of values.length > 0 ? values : ['']) this.add(value);
  }

  values(): string[] {
    return this.inputs()
      .map((input) => input.value.trim())
      .filter((value) => value !== '');
  }

  inputs(): HTMLInputElement[] {
    return [...this.list.querySelectorAll('input')];
  }

  private add(value: string): HTMLInputElement {
    const item = el('li', { className: 'contact' });
    const input = el('input', { type: 'email', name: 'contacts', value, autocomplete: 'email', spellcheck: false });
    input.setAttribute('aria-describedby', `${this.hintId} ${this.errorId}`);
    const remove = el('button', { type: 'button', className: 'button button-quiet', textContent: 'Remove' });
    remove.addEventListener('click', () => {
      const index = this.inputs().indexOf(input);
      item.remove();
      this.renumber();
      this.inputs()[Math.max(0, index - 1)]?.focus();
    });
    item.append(el('label', { className: 'visually-hidden' }), input, remove);
    this.list.append(item);
    this.renumber();
    return input;
  }

  /** Labels say which contact each input is; the last one left cannot be removed. */
  private renumber(): void {
    const items = [...this.list.children];
    items.forEach((item, i) => {
      const id = `${this.name}-contact-${i + 1}`;
      const label = item.querySelector('label') as HTMLLabelElement;
      label.htmlFor = id;
      label.textContent = `Contact email ${i + 1}`;
      (item.querySelector('input') as HTMLInputElement).id = id;
      const remove = item.querySelector('button') as HTMLButtonElement;
      remove.setAttribute('aria-label', `Remove contact email ${i + 1}`);
      remove.hidden = items.length === 1;
    });
  }
}

const generateContacts = new ContactsEditor(
  generateForm.querySelector('[data-contacts]') as HTMLFieldSetElement,
  'generate',
);
const editContacts = new ContactsEditor(contactsForm.querySelector('[data-contacts]') as HTMLFieldSetElement, 'edit');

// Views

async function start(): Promise<void> {
  try {
    user = (await api.session()).user;
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) byId('login-notice').textContent = messageOf(error);
  }
  byId('loading').hidden = true;
  if (user) await showSettings();
  else showLogin();
}

function showLogin(notice = ''): void {
  user = null;
  account.hide();
  history.replaceState(null, '', '/');
  byId('account').hidden = true;
  byId('settings-view').hidden = true;
  byId('login-view').hidden = false;
  if (notice) byId('login-notice').textContent = notice;
  codeForm.hidden = true;
  emailForm.hidden = false;
  byId<HTMLInputElement>('login-email').focus();
}

async function showSettings(): Promise<void> {
  const current = user as SessionUser;
  history.replaceState(null, '', '/settings');
  byId('login-view').hidden = true;
  byId('login-notice').textContent = '';
  byId('account-email').textContent = current.email;
  byId('account').hidden = false;
  byId('settings-view').hidden = false;
  await Promise.all([refreshKeys(), account.load()]);
}

/** A 401 while logged in: the session ended (expired, or logged out elsewhere). */
function sessionEnded(): void {
  for (const dialog of Object.values(dialogs)) dialog.close();
  showLogin('Your session has ended. Log in again to continue.');
}

async function refreshKeys(): Promise<void> {
  const listError = byId('list-error');
  try {
    const keys = await api.listKeys();
    listError.textContent = '';
    renderKeys(keys);
    await loadActivity(true);
  } catch (error) {
    if (isSessionEnd(error)) return sessionEnded();
    listError.textContent = `Could not load your keys: ${messageOf(error)}`;
  }
}

function renderKeys(keys: KeyView[]): void {
  const now = new Date();
  const labels = new Map(keys.map((key) => [key.id, key.label]));
  byId('keys-body').replaceChildren(...keys.map((key) => keyRow(key, now, labels)));
  byId('keys-table').hidden = keys.length === 0;
  byId('no-keys').hidden = keys.length > 0;
}

function keyRow(key: KeyView, now: Date, labels: Map<string, string>): HTMLTableRowElement {
  const timeZone = (user as SessionUser).timeZone;
  const row = el('tr');
  row.setAttribute('role', 'row');
  row.dataset.keyId = key.id;
  row.dataset.status = key.status;

  const label = el('th', { scope: 'row', textContent: key.label });
  label.setAttribute('role', 'rowheader');
  label.dataset.label = 'Label';

  const legacy = key.lastFive === '*****';
  const lastFive = cell(
    'Key',
    el('span', { className: 'mono', textContent: legacy ? '*****' : `…${key.lastFive}` }),
    el('span', { className: 'visually-hidden', textContent: legacy ? ' (legacy key)' : '' }),
  );

  const contacts = cell(
    'Contacts',
    key.contacts.length > 0
      ? el('ul', { className: 'contact-cell' }, ...key.contacts.map((c) => el('li', { textContent: c })))
      : el('span', { className: 'muted', textContent: 'None: emails go to your login address' }),
  );

  const created = cell('Created', time(key.createdAt, dateTime(key.createdAt, timeZone)));

  const expires: Node[] = [time(key.expiresAt, dateTime(key.expiresAt, timeZone))];
  if (key.status !== 'revoked') {
    const expiry = expiryOf(key.expiresAt, now);
    const line = el('span', { className: `expiry expiry-${expiry.mark}` });
    // Said in words as well as colour ("Expired 3 days ago" already says it).
    if (expiry.mark === 'soon') line.append(el('strong', { textContent: 'Expires soon: ' }));
    line.append(expiry.text);
    expires.push(line);
  }

  const replacement = key.replacedBy === null ? undefined : (labels.get(key.replacedBy) ?? 'a newer key');
  const status = cell(
    'Status',
    el('span', { className: `status status-${key.status}`, textContent: STATUS_TEXT[key.status] }),
    ...(replacement ? [el('span', { className: 'replaced', textContent: `Replaced by “${replacement}”` })] : []),
    ...(key.leakReportedAt
      ? [
          el('span', {
            className: 'replaced',
            textContent: `Reported leaked ${dateTime(key.leakReportedAt, timeZone)}`,
          }),
        ]
      : []),
    // Only the non-default setting is worth a line of its own.
    ...(key.status === 'active' && key.leakResponse === 'notify'
      ? [el('span', { className: 'replaced', textContent: 'If leaked: notify only' })]
      : []),
  );
  const lastUsed = cell(
    'Last used',
    key.lastUsedAt
      ? time(key.lastUsedAt, dateTime(key.lastUsedAt, timeZone))
      : el('span', { className: 'muted', textContent: 'Never' }),
  );

  const actions = el('td', { className: 'row-actions' });
  actions.setAttribute('role', 'cell');
  if (key.status === 'active') {
    actions.append(
      action('Edit contacts', key, () => openContacts(key)),
      ...(replacement ? [] : [action('Rotate', key, () => openRotate(key))]),
      action('If leaked…', key, () => openLeak(key)),
      action('Revoke', key, () => openRevoke(key), 'button-danger-quiet'),
    );
  }

  actions.append(action('Activity', key, () => void showActivityOf(key)));
  row.append(label, lastFive, contacts, created, cell('Expires', ...expires), status, lastUsed, actions);
  return row;
}

// Activity

async function showActivityOf(key: KeyView | null): Promise<void> {
  activityKey = key;
  await loadActivity(true);
  // Said once the entries are in, so the heading never describes another list.
  byId('activity-all').hidden = key === null;
  byId('activity-scope').textContent =
    key === null
      ? 'What was done to your keys, and by whom, newest first.'
      : `What was done to “${key.label}” (…${key.lastFive}), and by whom, newest first.`;
  byId('activity-title').focus();
}

/** The first page again (`reset`), or the next one below what is shown. */
async function loadActivity(reset: boolean): Promise<void> {
  const error = byId('activity-error');
  const list = byId('activity-list');
  try {
    const page = await api.activity(activityKey?.id, reset ? undefined : (activityCursor ?? undefined));
    error.textContent = '';
    const items = page.entries.map(activityItem);
    if (reset) list.replaceChildren(...items);
    else list.append(...items);
    activityCursor = page.nextCursor;
    byId('activity-more').hidden = page.nextCursor === null;
    byId('no-activity').hidden = list.childElementCount > 0;
  } catch (failure) {
    if (isSessionEnd(failure)) return sessionEnded();
    error.textContent = `Could not load the activity: ${messageOf(failure)}`;
  }
}

function activityItem(entry: ActivityEntryView): HTMLLIElement {
  const timeZone = (user as SessionUser).timeZone;
  const who =
    entry.actor === 'user'
      ? `${entry.actorName}${entry.from ? ` from ${entry.from}` : ''}`
      : `${entry.actorName} (${entry.actor})`;
  return el(
    'li',
    { className: `timeline-entry timeline-${entry.action}` },
    el('p', { className: 'timeline-what', textContent: activityText(entry) }),
    el('p', { className: 'timeline-meta' }, time(entry.at, dateTime(entry.at, timeZone)), ` · ${who}`),
  );
}

/** A row button whose accessible name says which key it acts on ("Rotate prod"). */
function action(text: string, key: KeyView, onClick: () => void, variant = 'button-quiet'): HTMLButtonElement {
  const button = el('button', { type: 'button', className: `button ${variant}`, textContent: text });
  button.append(el('span', { className: 'visually-hidden', textContent: ` ${key.label}` }));
  button.addEventListener('click', onClick);
  return button;
}

/** A cell whose content is one block, so the phone layout can set it beside its column name. */
function cell(label: string, ...content: Node[]): HTMLTableCellElement {
  const td = el('td', {}, el('div', {}, ...content));
  td.setAttribute('role', 'cell');
  td.dataset.label = label;
  return td;
}

// Dialogs

function openDialog(dialog: HTMLDialogElement, form?: HTMLFormElement): void {
  if (form) clearErrors(form);
  dialog.showModal();
}

function nameKey(dialog: HTMLDialogElement, key: KeyView): void {
  selected = key;
  for (const target of dialog.querySelectorAll('[data-key-name]'))
    target.textContent = `${key.label} (…${key.lastFive})`;
}

function openGenerate(): void {
  generateForm.reset();
  generateContacts.set([]);
  openDialog(dialogs.generate, generateForm);
}

function openContacts(key: KeyView): void {
  nameKey(dialogs.contacts, key);
  editContacts.set(key.contacts);
  openDialog(dialogs.contacts, contactsForm);
}

function openRotate(key: KeyView): void {
  nameKey(dialogs.rotate, key);
  rotateForm.reset();
  openDialog(dialogs.rotate, rotateForm);
}

function openRevoke(key: KeyView): void {
  nameKey(dialogs.revoke, key);
  openDialog(dialogs.revoke, revokeForm);
}

function openLeak(key: KeyView): void {
  nameKey(dialogs.leak, key);
  leakForm.reset();
  for (const choice of leakForm.querySelectorAll<HTMLInputElement>('input[name="leakResponse"]'))
    choice.checked = choice.value === key.leakResponse;
  openDialog(dialogs.leak, leakForm);
}

/** The one time a key is visible: until this dialog closes. */
function reveal(created: CreatedKey): void {
  byId('reveal-label').textContent = created.label;
  byId<HTMLInputElement>('reveal-key').value = created.key;
  byId('copy-status').textContent = '';
  dialogs.reveal.showModal();
  byId('copy-key').focus();
}

async function copyKey(): Promise<void> {
  const input = byId<HTMLInputElement>('reveal-key');
  const status = byId('copy-status');
  try {
    await navigator.clipboard.writeText(input.value);
    status.textContent = 'Copied to the clipboard.';
  } catch {
    input.select();
    status.textContent = 'Could not copy: the key is selected, press Ctrl+C (⌘C on a Mac) to copy it.';
  }
}

/** Rows are rebuilt on refresh, so the button that opened a dialog may be gone: keep focus on the page. */
function keepFocusOnPage(): void {
  if (user && (document.activeElement === null || document.activeElement === document.body)) {
    byId('keys-title').focus();
  }
}

function notify(text: string): void {
  byId('settings-notice').textContent = text;
}

// Form errors: each API error goes next to the field it concerns.

function clearErrors(form: HTMLFormElement): void {
  for (const slot of form.querySelectorAll<HTMLElement>('[data-error-for]')) slot.textContent = '';
  for (const control of form.querySelectorAll('[aria-invalid]')) control.removeAttribute('aria-invalid');
}

function showErrors(form: HTMLFormElement, error: unknown, fallback = FORM): void {
  if (isSessionEnd(error)) return sessionEnded();
  const slots = [...form.querySelectorAll<HTMLElement>('[data-error-for]')];
  const fields = slots.map((slot) => slot.dataset.errorFor as string);
  const errors =
    error instanceof ApiError && error.errors.length > 0
      ? error.errors
      : [{ field: fallback, message: messageOf(error) }];
  let first: HTMLElement | undefined;
  for (const [field, messages] of errorsByField(errors, fields, fallback)) {
    const slot = slots.find((s) => s.dataset.errorFor === field) as HTMLElement;
    slot.textContent = messages.map(sentence).join(' ');
    const controls = controlsFor(form, field);
    for (const control of controls) control.setAttribute('aria-invalid', 'true');
    first ??= controls[0];
  }
  (first ?? (form.querySelector('button[type="submit"]') as HTMLElement)).focus();
}

function controlsFor(form: HTMLFormElement, field: string): HTMLElement[] {
  if (field === 'contacts') return [...form.querySelectorAll<HTMLElement>('[data-contacts] input')];
  const control = form.elements.namedItem(field);
  return control instanceof HTMLElement ? [control] : [];
}

function isSessionEnd(error: unknown): boolean {
  return user !== null && error instanceof ApiError && error.status === 401;
}

function messageOf(error: unknown): string {
  return error instanceof ApiError ? error.detail : 'Something went wrong; try again.';
}

/** API messages start lower-case ("label must be…"); shown alone they read as sentences. */
function sentence(message: string): string {
  const text = message.charAt(0).toUpperCase() + message.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/** Runs a form's request once at a time, with its errors cleared first and shown after. */
function onSubmit(form: HTMLFormElement, run: () => Promise<void>, fallback = FORM): void {
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const submit = form.querySelector('button[type="submit"]') as HTMLButtonElement;
    if (submit.disabled) return;
    clearErrors(form);
    submit.disabled = true;
    form.setAttribute('aria-busy', 'true');
    run()
      .catch((error: unknown) => showErrors(form, error, fallback))
      .finally(() => {
        submit.disabled = false;
        form.removeAttribute('aria-busy');
      });
  });
}

// Wiring

onSubmit(
  emailForm,
  async () => {
    const email = byId<HTMLInputElement>('login-email').value.trim();
    await api.requestCode(email);
    loginEmail = email;
    byId('code-email').textContent = email;
    byId('login-notice').textContent = '';
    codeForm.reset();
    emailForm.hidden = true;
    codeForm.hidden = false;
    byId<HTMLInputElement>('login-code').focus();
  },
  'email',
);

onSubmit(
  codeForm,
  async () => {
    const code = byId<HTMLInputElement>('login-code').value.replace(/\s/g, '');
    user = (await api.login(loginEmail, code)).user;
    await showSettings();
    byId('settings-title').focus();
  },
  'otp',
);

onSubmit(generateForm, async () => {
  const created = await api.createKey(byId<HTMLInputElement>('generate-label').value, generateContacts.values());
  dialogs.generate.close();
  reveal(created);
  await refreshKeys();
  keepFocusOnPage();
});

onSubmit(contactsForm, async () => {
  const key = selected as KeyView;
  await api.replaceContacts(key.id, editContacts.values());
  dialogs.contacts.close();
  notify(`Contacts of “${key.label}” saved.`);
  await refreshKeys();
  keepFocusOnPage();
});

onSubmit(rotateForm, async () => {
  const key = selected as KeyView;
  const graceHours = Number(byId<HTMLSelectElement>('rotate-grace').value);
  const created = await api.rotate(key.id, graceHours, byId<HTMLInputElement>('rotate-label').value.trim());
  dialogs.rotate.close();
  notify(`“${key.label}” was rotated: its replacement is “${created.label}”.`);
  reveal(created);
  await refreshKeys();
  keepFocusOnPage();
});

onSubmit(revokeForm, async () => {
  const key = selected as KeyView;
  await api.revoke(key.id);
  dialogs.revoke.close();
  notify(`“${key.label}” was revoked.`);
  await refreshKeys();
  keepFocusOnPage();
});

onSubmit(leakForm, async () => {
  const key = selected as KeyView;
  const choice = leakForm.querySelector<HTMLInputElement>('input[name="leakResponse"]:checked');
  const saved = await api.setLeakResponse(key.id, (choice?.value ?? 'revoke') as LeakResponse);
  dialogs.leak.close();
  notify(
    saved.leakResponse === 'notify'
      ? `If “${key.label}” leaks, keyward will only tell you and its contacts.`
      : `If “${key.label}” leaks, keyward will revoke it at once.`,
  );
  await refreshKeys();
  keepFocusOnPage();
});

const account = new AccountSection({
  onSubmit,
  failed(error, slot, what) {
    if (isSessionEnd(error)) return sessionEnded();
    slot.textContent = `${what}: ${messageOf(error)}`;
  },
  async zoneChanged(timeZone) {
    (user as SessionUser).timeZone = timeZone;
    await refreshKeys();
  },
});

// Your data: take it along, or close the account (confirmed with a code emailed for it).

async function downloadData(): Promise<void> {
  const button = byId<HTMLButtonElement>('export-data');
  const error = byId('export-error');
  error.textContent = '';
  button.disabled = true;
  try {
    const url = URL.createObjectURL(new Blob([await api.exportData()], { type: 'application/json' }));
    el('a', { href: url, download: 'keyward-account.json' }).click();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    notify('Your data was downloaded as keyward-account.json.');
  } catch (failure) {
    if (isSessionEnd(failure)) return sessionEnded();
    error.textContent = sentence(messageOf(failure));
  } finally {
    button.disabled = false;
  }
}

function openClose(): void {
  for (const slot of dialogs.close.querySelectorAll('[data-account-email]')) {
    slot.textContent = (user as SessionUser).email;
  }
  closeForm.hidden = true;
  closeCodeForm.hidden = false;
  byId<HTMLInputElement>('close-code').value = '';
  clearErrors(closeForm);
  openDialog(dialogs.close, closeCodeForm);
}

onSubmit(closeCodeForm, async () => {
  await api.requestClosureCode();
  closeCodeForm.hidden = true;
  closeForm.hidden = false;
  byId<HTMLInputElement>('close-code').focus();
});

onSubmit(
  closeForm,
  async () => {
    await api.closeAccount(byId<HTMLInputElement>('close-code').value.trim());
    dialogs.close.close();
    showLogin('Your account is closed: every key was revoked and its contacts told, and your data deleted.');
  },
  'code',
);

byId('export-data').addEventListener('click', () => void downloadData());
byId('close-account').addEventListener('click', openClose);
byId('activity-all').addEventListener('click', () => void showActivityOf(null));
byId('activity-more').addEventListener('click', () => void loadActivity(false));
byId('change-email').addEventListener('click', () => showLogin());
byId('generate').addEventListener('click', openGenerate);
byId('copy-key').addEventListener('click', () => void copyKey());
byId('logout').addEventListener('click', () => {
  void api.logout().finally(() => showLogin('You have logged out.'));
});
for (const dialog of Object.values(dialogs)) {
  for (const close of dialog.querySelectorAll('[data-close]')) close.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', keepFocusOnPage);
}
dialogs.reveal.addEventListener('close', () => {
  byId<HTMLInputElement>('reveal-key').value = '';
});

void start();
