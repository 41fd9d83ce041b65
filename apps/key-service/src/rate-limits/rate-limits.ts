import { ExecutionContext, SetMetadata } from '@nestjs/common';
import { ThrottlerOptions } from '@nestjs/throttler';
import { createHash } from 'node:crypto';
import { HOUR_MS, MINUTE_MS } from '@keyward/contracts';

type Request = { ip: string; body?: { email?: unknown }; user?: { id?: unknown }; sessionKey?: unknown };

/**
 * Whom a limit counts: the address a login is for, the client's address, the account, or the
 * session (its stored key, set by SessionGuard, which runs before the limits).
 */
const trackers = {
  email: (req: Request) => emailOf(req),
  client: (req: Request) => req.ip,
  emailAndClient: (req: Request) => `${emailOf(req)} ${req.ip}`,
  account: (req: Request) => String(req.user?.id),
  session: (req: Request) => String(req.sessionKey),
};

/** The address as the request's validation will normalise it (the guard runs first). */
function emailOf(req: Request): string {
  return typeof req.body?.email === 'string' ? req.body.email.trim().toLowerCase() : '';
}

export interface RateLimit {
  limit: number;
  windowMs: number;
  track: keyof typeof trackers;
  /** What the 429 says; Retry-After gives the wait. */
  message: string;
}

/** How many sessions' budgets an account's ceiling holds: see {@link spentBySessions}. */
const SESSIONS_PER_CEILING = 3;

/**
 * An hour's budget that whoever holds a session of the account spends: counted per session
 * (`<name>-session`), so a stolen session spends only its own and cannot keep the owner, signed in
 * afresh, from their data or from closing the account; and per account (`<name>`), the ceiling of
 * all its sessions together, at three sessions' worth: a stolen one's, the owner's fresh one's and
 * one more device's. A thief cannot open sessions to raise what they spend (only a login code
 * does), and ending a session ends its spending. The session's limit is listed, so checked, first:
 * what it refuses costs the ceiling nothing.
 */
function spentBySessions<Name extends string>(
  name: Name,
  budget: { perHour: number; spent: (times: number) => string; then: string },
): Record<`${Name}-session` | Name, RateLimit> {
  const { perHour, spent, then } = budget;
  const ceiling = perHour * SESSIONS_PER_CEILING;
  return {
    [`${name}-session`]: {
      limit: perHour,
      windowMs: HOUR_MS,
      track: 'session',
      message: `This session has ${spent(perHour)} this hour, the most allowed; ${then}`,
    },
    [name]: {
      limit: ceiling,
      windowMs: HOUR_MS,
      track: 'account',
      message: `This account's sessions together have ${spent(ceiling)} this hour, the most allowed; ${then}, and end any session you do not know in Settings`,
    },
  } as Record<`${Name}-session` | Name, RateLimit>;
}

/**
 * Every limit of key-service. Login limits count per address *and* client, so an attacker's
 * guesses or code requests use up only their own budget, never the owner's; the per-address
 * ceilings bound what many clients together can do, and say so when they are the reason. A
 * new code does not reset any of them. What an account's sessions do is counted the same way, per
 * session under an account ceiling, except key changes, which bound the emails an account causes
 * whatever its sessions (its owner can open sessions at will).
 */
export const RATE_LIMITS = {
  'otp-email-client': {
    limit: 5,
    windowMs: 15 * MINUTE_MS,
    track: 'emailAndClient',
    message: 'Too many codes requested for this address from your network; wait before asking again',
  },
  'otp-email': {
    limit: 15,
    windowMs: HOUR_MS,
    track: 'email',
    message: 'Too many codes were requested for this address from several networks; it can ask again later',
  },
  'otp-client': {
    limit: 20,
    windowMs: 15 * MINUTE_MS,
    track: 'client',
    message: 'Too many codes requested from your network; wait before asking again',
  },
  'login-email-client': {
    limit: 5,
    windowMs: 15 * MINUTE_MS,
    track: 'emailAndClient',
    message: 'Too many sign-in attempts for this address from your network; wait, then use the newest code',
  },
  'login-email': {
    limit: 20,
    windowMs: 24 * HOUR_MS,
    track: 'email',
    message:
      'Too many wrong codes were tried for this address from several networks today; sign-in to it is paused for everyone until the wait is over',
  },
  'login-client': {
    limit: 30,
    windowMs: 15 * MINUTE_MS,
    track: 'client',
    message: 'Too many sign-in attempts from your network; wait before trying again',
  },
  ...spentBySessions('account-changes', {
    perHour: 60,
    spent: (n) => `made ${n} account changes`,
    then: 'wait before trying again',
  }),
  ...spentBySessions('account-export', {
    perHour: 5,
    spent: (n) => `downloaded the account's data ${n} times`,
    then: 'wait before trying again',
  }),
  ...spentBySessions('account-closure-code', {
    perHour: 5,
    spent: (n) => `requested ${n} codes to close the account`,
    then: 'use the newest one or wait',
  }),
  ...spentBySessions('account-closure', {
    perHour: 10,
    spent: (n) => `tried ${n} codes to close the account`,
    then: 'wait, then use the newest code',
  }),
} satisfies Record<string, RateLimit>;

export type RateLimitName = keyof typeof RATE_LIMITS | 'key-changes';

/** A throttler of ours: @nestjs/throttler's options plus the message its 429 carries. */
export interface LimitOptions extends ThrottlerOptions {
  name: RateLimitName;
  message: string;
}

const RATE_LIMITED = 'keyward:rate-limits';

/** The limits a route counts against; RateLimitGuard skips every other one. */
export const RateLimited = (...names: RateLimitName[]) => SetMetadata(RATE_LIMITED, names);

/** The limits a route handler (or else its controller) counts against. */
export const routeLimits = (handler: object, controller: object): RateLimitName[] =>
  Reflect.getMetadata(RATE_LIMITED, handler) ?? Reflect.getMetadata(RATE_LIMITED, controller) ?? [];

const limitsOf = (context: ExecutionContext): RateLimitName[] => routeLimits(context.getHandler(), context.getClass());

/** A limit's counter key for one subject. Hashed: no email or address is stored. */
function subjectKey(name: RateLimitName, tracker: string): string {
  return createHash('sha256').update(`${name} ${tracker}`).digest('base64url');
}

/**
 * The counters (`<limit>:<subject key>`, before the window) that count an account: its own limits,
 * and the login limits of its address alone. Counters of the address together with a client
 * address cannot be named without every client address; they end within 15 minutes. Those of its
 * sessions name no one (a hash of the session's stored key) and end within the hour.
 */
export function countersOf(account: { userId: string; email: string }): string[] {
  const names = [...(Object.keys(RATE_LIMITS) as (keyof typeof RATE_LIMITS)[]), 'key-changes' as const];
  const trackOf = (name: RateLimitName) => (name === 'key-changes' ? 'account' : RATE_LIMITS[name].track);
  return names.flatMap((name) => {
    const track = trackOf(name);
    if (track === 'account') return [`${name}:${subjectKey(name, account.userId)}`];
    if (track === 'email') return [`${name}:${subjectKey(name, account.email)}`];
    return [];
  });
}

/**
 * Options of every limit for ThrottlerModule; `keyChangesPerHour` bounds an account's key changes
 * (create, rotate, revoke, contacts), and with them the emails those changes send.
 */
export function throttlers(keyChangesPerHour: number): LimitOptions[] {
  const all: Record<RateLimitName, RateLimit> = {
    ...RATE_LIMITS,
    'key-changes': {
      limit: keyChangesPerHour,
      windowMs: HOUR_MS,
      track: 'account',
      message: `This account has made ${keyChangesPerHour} key changes this hour, the most allowed`,
    },
  };
  return (Object.entries(all) as [RateLimitName, RateLimit][]).map(([name, rule]) => ({
    name,
    message: rule.message,
    limit: rule.limit,
    ttl: rule.windowMs,
    getTracker: trackers[rule.track] as (req: Record<string, unknown>) => string,
    // One count per limit and subject, whichever route it is reached by (the library's default
    // counts each route apart, so create, rotate and revoke would each get the whole budget).
    generateKey: (_context: ExecutionContext, tracker: string) => subjectKey(name, tracker),
    skipIf: (context: ExecutionContext) => !limitsOf(context).includes(name),
  }));
}
