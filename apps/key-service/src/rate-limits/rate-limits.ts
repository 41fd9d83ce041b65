import { ExecutionContext, SetMetadata } from '@nestjs/common';
import { ThrottlerOptions } from '@nestjs/throttler';
import { createHash } from 'node:crypto';
import { HOUR_MS, MINUTE_MS } from '@keyward/contracts';

type Request = { ip: string; body?: { email?: unknown }; user?: { id?: unknown } };

/** Whom a limit counts: the address a login is for, the client's address, or the account. */
const trackers = {
  email: (req: Request) => emailOf(req),
  client: (req: Request) => req.ip,
  emailAndClient: (req: Request) => `${emailOf(req)} ${req.ip}`,
  account: (req: Request) => String(req.user?.id),
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

/**
 * Every limit of key-service. Login limits count per address *and* client, so an attacker's
 * guesses or code requests use up only their own budget, never the owner's; the per-address
 * ceilings bound what many clients together can do, and say so when they are the reason. A
 * new code does not reset any of them.
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
  'account-changes': {
    limit: 60,
    windowMs: HOUR_MS,
    track: 'account',
    message: 'This account has made 60 account changes this hour, the most allowed; wait before trying again',
  },
  'account-export': {
    limit: 5,
    windowMs: HOUR_MS,
    track: 'account',
    message: 'This account has downloaded its data 5 times this hour, the most allowed; wait before trying again',
  },
  'account-closure-code': {
    limit: 5,
    windowMs: HOUR_MS,
    track: 'account',
    message: 'Too many codes to close this account were requested this hour; use the newest one or wait',
  },
  'account-closure': {
    limit: 10,
    windowMs: HOUR_MS,
    track: 'account',
    message: 'Too many attempts to close this account this hour; wait, then use the newest code',
  },
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
 * address cannot be named without every client address; they end within 15 minutes.
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
