import { FastifyReply } from 'fastify';
import { randomBytes } from 'node:crypto';

export const SESSION_COOKIE = 'keyward_session';
/** Readable by the page's script, which echoes it in the CSRF header (double-submit). */
export const CSRF_COOKIE = 'keyward_csrf';
export const CSRF_HEADER = 'x-csrf-token';

export function setSessionCookies(reply: FastifyReply, token: string, expiresAt: Date, secure: boolean): void {
  const common = { path: '/', sameSite: 'strict' as const, secure, expires: expiresAt };
  reply.setCookie(SESSION_COOKIE, token, { ...common, httpOnly: true });
  reply.setCookie(CSRF_COOKIE, randomBytes(24).toString('base64url'), { ...common, httpOnly: false });
}

export function clearSessionCookies(reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { path: '/' });
  reply.clearCookie(CSRF_COOKIE, { path: '/' });
}
