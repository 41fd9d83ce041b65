import { ForbiddenException } from '@nestjs/common';
import { sendProblem } from '@keyward/platform';
import { FastifyInstance } from 'fastify';
import { IncomingHttpHeaders } from 'node:http';

const READ_ONLY_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** The page's own requests, and ones the user typed or bookmarked. */
const SAME_SITE_FETCHES = new Set(['same-origin', 'none']);

/**
 * Why a state-changing request must be refused as coming from another site, or null. Browsers
 * send `Sec-Fetch-Site` (modern) or `Origin` (on every cross-origin POST) and a page cannot forge
 * either; clients that send neither (curl, internal services) are not browsers acting for a user.
 * Login is covered too: a form on another site cannot sign a victim into an attacker's account.
 */
export function crossSiteRefusal(method: string, headers: IncomingHttpHeaders, host: string): string | null {
  if (READ_ONLY_METHODS.has(method)) return null;
  const fetchSite = headers['sec-fetch-site'];
  if (typeof fetchSite === 'string' && !SAME_SITE_FETCHES.has(fetchSite)) {
    return `Refused a ${fetchSite} request: changes must come from this site's own pages`;
  }
  const origin = headers.origin;
  if (origin !== undefined && originHost(origin) !== host.toLowerCase()) {
    return `Refused a request from origin ${origin}: changes must come from this site's own pages`;
  }
  return null;
}

function originHost(origin: string): string | null {
  try {
    return new URL(origin).host.toLowerCase();
  } catch {
    return null; // "null" (sandboxed frames, some redirects) and anything unparseable
  }
}

/** Refuses cross-site changes with 403 before the body is even read. */
export function refuseCrossSiteRequests(server: FastifyInstance): void {
  server.addHook('onRequest', async (request, reply) => {
    const refusal = crossSiteRefusal(request.method, request.headers, request.host);
    if (refusal) return sendProblem(reply, new ForbiddenException(refusal));
  });
}
