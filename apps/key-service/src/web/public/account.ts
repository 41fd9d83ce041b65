import { api, type AccountSessionView, type AccountView } from './api.js';
import { byId, el, time } from './dom.js';
import { dateTime, proposedZone, zoneLabel } from './format.js';

/** What the Account section needs from the page around it. */
export interface AccountHooks {
  /** Runs a form's request once at a time, showing its errors beside its fields. */
  onSubmit(form: HTMLFormElement, run: () => Promise<void>): void;
  /** A request outside a form failed: says so in `slot` ("<what>: <why>"), or ends the page's session. */
  failed(error: unknown, slot: HTMLElement, what: string): void;
  /** The account's zone changed: every time on the page is shown again in it. */
  zoneChanged(timeZone: string): Promise<void>;
}

/** The zone the browser runs in, as Intl names it; undefined when it cannot say. */
function browserZone(): string | undefined {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || undefined;
}

/**
 * Settings → Account: the time zone every time is shown in (proposed from the browser's until the
 * owner chooses one) and the places the account is signed in. Each part is its own
 * `.account-part` block of the section, loaded with the rest of the page.
 */
export class AccountSection {
  private account: AccountView | null = null;
  private readonly zoneForm = byId<HTMLFormElement>('time-zone-form');
  private readonly zoneSelect = byId<HTMLSelectElement>('time-zone');

  constructor(private readonly hooks: AccountHooks) {
    hooks.onSubmit(this.zoneForm, () => this.chooseZone(this.zoneSelect.value));
    byId('use-browser-zone').addEventListener('click', () => void this.answerProposal(true));
    byId('keep-zone').addEventListener('click', () => void this.answerProposal(false));
    byId('end-other-sessions').addEventListener('click', () => void this.endOthers());
  }

  async load(): Promise<void> {
    try {
      this.account = await api.account();
    } catch (error) {
      this.hooks.failed(error, byId('account-error'), 'Could not load your account');
      return;
    }
    byId('account-error').textContent = '';
    this.showZone();
    await this.loadSessions();
  }

  /** Forgets what was shown, for the next person to log in on this page. */
  hide(): void {
    this.account = null;
    byId('time-zone-proposal').hidden = true;
    byId('sessions-list').replaceChildren();
    byId('account-notice').textContent = '';
  }

  // Time zone

  private showZone(): void {
    const account = this.account as AccountView;
    const now = new Date();
    const zones = new Set(Intl.supportedValuesOf('timeZone'));
    zones.add(account.timeZone);
    this.zoneSelect.replaceChildren(
      ...[...zones].sort().map((zone) => el('option', { value: zone, textContent: zoneLabel(zone, now) })),
    );
    this.zoneSelect.value = account.timeZone;

    const proposal = proposedZone(account, browserZone());
    byId('time-zone-proposal').hidden = proposal === null;
    if (proposal === null) return;
    byId('proposal-text').textContent =
      `Times are shown in ${zoneLabel(account.timeZone, now)}, keyward’s default. ` +
      `Your browser is set to ${zoneLabel(proposal, now)}.`;
    byId('use-browser-zone').textContent = `Use ${proposal.replace(/_/g, ' ')}`;
    byId('keep-zone').textContent = `Keep ${account.timeZone.replace(/_/g, ' ')}`;
  }

  /** Either answer is a choice, so the question is not asked again. */
  private async answerProposal(useBrowser: boolean): Promise<void> {
    const account = this.account as AccountView;
    const zone = useBrowser ? (browserZone() ?? account.timeZone) : account.timeZone;
    try {
      await this.chooseZone(zone);
      byId('time-zone-proposal').hidden = true;
      byId('settings-title').focus();
    } catch (error) {
      this.hooks.failed(error, byId('proposal-error'), 'Could not save the time zone');
    }
  }

  private async chooseZone(zone: string): Promise<void> {
    this.account = await api.setTimeZone(zone);
    this.showZone();
    byId('account-notice').textContent =
      `Times in Settings and in keyward’s emails are now shown in ${zoneLabel(this.account.timeZone, new Date())}.`;
    await this.hooks.zoneChanged(this.account.timeZone);
    await this.loadSessions();
  }

  // Sessions

  private async loadSessions(): Promise<void> {
    const error = byId('sessions-error');
    try {
      const sessions = await api.sessions();
      error.textContent = '';
      byId('sessions-list').replaceChildren(...sessions.map((s) => this.sessionItem(s)));
      byId('end-other-sessions').hidden = !sessions.some((s) => !s.current);
    } catch (failure) {
      this.hooks.failed(failure, error, 'Could not load where you are signed in');
    }
  }

  private sessionItem(session: AccountSessionView): HTMLLIElement {
    const zone = (this.account as AccountView).timeZone;
    const device = session.userAgent ?? 'Unknown device';
    const seen = session.lastSeenAt
      ? [' · Last active ', time(session.lastSeenAt, dateTime(session.lastSeenAt, zone))]
      : [];
    const item = el(
      'li',
      { className: session.current ? 'session session-current' : 'session' },
      el(
        'div',
        { className: 'session-text' },
        el(
          'p',
          { className: 'session-device' },
          device,
          ...(session.current ? [' ', el('span', { className: 'badge', textContent: 'This device' })] : []),
        ),
        el(
          'p',
          { className: 'session-meta' },
          'Signed in ',
          time(session.createdAt, dateTime(session.createdAt, zone)),
          ...seen,
          session.clientAddress ? ` · from ${session.clientAddress}` : '',
        ),
      ),
    );
    if (!session.current) {
      const signOut = el('button', {
        type: 'button',
        className: 'button button-danger-quiet',
        textContent: 'Sign out',
      });
      signOut.append(el('span', { className: 'visually-hidden', textContent: ` ${device}` }));
      signOut.addEventListener('click', () => void this.end(session, device));
      item.append(signOut);
    }
    return item;
  }

  private async end(session: AccountSessionView, device: string): Promise<void> {
    try {
      await api.endSession(session.id);
      byId('account-notice').textContent = `Signed out ${device}.`;
    } catch (error) {
      this.hooks.failed(error, byId('sessions-error'), `Could not sign out ${device}`);
    }
    await this.loadSessions();
    byId('sessions-title').focus();
  }

  private async endOthers(): Promise<void> {
    const others = byId('sessions-list').querySelectorAll('.session:not(.session-current)').length;
    try {
      await api.endOtherSessions();
      byId('account-notice').textContent =
        others === 1 ? 'Signed out 1 other session.' : `Signed out ${others} other sessions.`;
    } catch (error) {
      this.hooks.failed(error, byId('sessions-error'), 'Could not sign out the other sessions');
    }
    await this.loadSessions();
    byId('sessions-title').focus();
  }
}
