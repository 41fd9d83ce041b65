import { FastifyReply } from 'fastify';

export const SESSION_COOKIE = 'keyward_session';
/** The session's CSRF token, readable by the page's script, which echoes it in the CSRF header. */
export const CSRF_COOKIE = 'keyward_csrf';
export const CSRF_HEADER = 'x-csrf-token';

export function setSessionCookies(
  reply: FastifyReply,
  session: { token: string; csrfToken: string; expiresAt: Date },
  secure: boolean,
): void {
  const common = { path: '/', sameSite: 'strict' as const, secure, expires: session.expiresAt };
  reply.setCookie(SESSION_COOKIE, session.token, { ...common, httpOnly: true });
  reply.setCookie(CSRF_COOKIE, session.csrfToken, { ...common, httpOnly: false });
}

export function clearSessionCookies(reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { path: '/' });
  reply.clearCookie(CSRF_COOKIE, { path: '/' });
}
