import type { ActivityEntryView, FieldError, KeyView, LeakResponse } from './format.js';

/** The JSON API under /v1, called with the session cookie; changes echo the CSRF cookie in a header. */

export interface SessionUser {
  email: string;
  username: string;
  timeZone: string;
}

/** GET /v1/account. */
export interface AccountView extends SessionUser {
  /** False while the zone is the default every account starts with. */
  timeZoneChosen: boolean;
  createdAt: string;
}

/** One place the account is signed in (GET /v1/account/sessions); never its token. */
export interface AccountSessionView {
  id: string;
  createdAt: string;
  expiresAt: string;
  lastSeenAt: string | null;
  clientAddress: string | null;
  /** "Firefox 133 on Windows". */
  userAgent: string | null;
  current: boolean;
}

export interface CreatedKey extends KeyView {
  /** The full key: in this response only. */
  key: string;
}

/** A problem+json answer: `detail` for people, `errors` naming the fields at fault. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly errors: FieldError[],
  ) {
    super(detail);
  }
}

const CSRF_COOKIE = 'keyward_csrf';
const CSRF_HEADER = 'x-csrf-token';

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers[CSRF_HEADER] = cookie(CSRF_COOKIE) ?? '';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'Could not reach keyward; check your connection and try again.', []);
  }
  if (res.status === 204) return undefined as T;
  const payload = (await res.json().catch(() => null)) as Record<string, unknown> | null;
  if (!res.ok) {
    const detail = typeof payload?.detail === 'string' ? payload.detail : `Request failed (${res.status})`;
    const errors = Array.isArray(payload?.errors) ? (payload.errors as FieldError[]) : [];
    throw new ApiError(res.status, detail, errors);
  }
  return payload as T;
}

function cookie(name: string): string | undefined {
  const prefix = `${name}=`;
  const found = document.cookie.split('; ').find((c) => c.startsWith(prefix));
  return found === undefined ? undefined : decodeURIComponent(found.slice(prefix.length));
}

const key = (id: string) => `/v1/keys/${encodeURIComponent(id)}`;

export const api = {
  session: () => call<{ user: SessionUser; expiresAt: string }>('GET', '/v1/auth/session'),
  requestCode: (email: string) => call<void>('POST', '/v1/auth/otp', { email }),
  login: (email: string, otp: string) => call<{ user: SessionUser }>('POST', '/v1/auth/login', { email, otp }),
  logout: () => call<void>('POST', '/v1/auth/logout'),
  listKeys: () => call<KeyView[]>('GET', '/v1/keys'),
  createKey: (label: string, contacts: string[]) => call<CreatedKey>('POST', '/v1/keys', { label, contacts }),
  replaceContacts: (id: string, contacts: string[]) => call<KeyView>('PUT', `${key(id)}/contacts`, { contacts }),
  revoke: (id: string) => call<unknown>('DELETE', key(id)),
  activity: (keyId?: string, cursor?: string) => {
    const query = new URLSearchParams({ ...(keyId ? { keyId } : {}), ...(cursor ? { cursor } : {}) });
    return call<{ entries: ActivityEntryView[]; nextCursor: string | null }>('GET', `/v1/activity?${query}`);
  },
  setLeakResponse: (id: string, leakResponse: LeakResponse) => call<KeyView>('PATCH', key(id), { leakResponse }),
  account: () => call<AccountView>('GET', '/v1/account'),
  setTimeZone: (timeZone: string) => call<AccountView>('PATCH', '/v1/account', { timeZone }),
  sessions: () => call<AccountSessionView[]>('GET', '/v1/account/sessions'),
  endSession: (id: string) => call<void>('DELETE', `/v1/account/sessions/${encodeURIComponent(id)}`),
  endOtherSessions: () => call<void>('DELETE', '/v1/account/sessions'),
  rotate: (id: string, graceHours: number, label?: string) =>
    call<CreatedKey>('POST', `${key(id)}/rotate`, { graceHours, ...(label ? { label } : {}) }),
  /** Everything keyward holds about the account, as the JSON text to save. */
  exportData: async () => JSON.stringify(await call<unknown>('GET', '/v1/account/export'), null, 2),
  requestClosureCode: () => call<{ expiresAt: string }>('POST', '/v1/account/closure-code'),
  closeAccount: (code: string) => call<void>('DELETE', '/v1/account', { code }),
};
