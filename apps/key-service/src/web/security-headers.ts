/**
 * Headers for every page and asset of the web app. Only this origin's scripts and styles run
 * (no inline script, no CDN); the pages cannot be framed, and no referrer leaks key ids.
 */
export const WEB_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; '),
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
};

/** A year, subdomains included: once seen over HTTPS, browsers refuse plain HTTP to this host. */
const HSTS = 'max-age=31536000; includeSubDomains';

/**
 * Headers by path, on every response: HSTS in production; `no-store` on the API, whose answers
 * hold keys, session tokens and account data no cache may keep; the OpenAPI pages cannot be framed.
 */
export function responseHeaders(url: string, hsts: boolean): Record<string, string> {
  const headers: Record<string, string> = hsts ? { 'strict-transport-security': HSTS } : {};
  if (url.startsWith('/v1/')) headers['cache-control'] = 'no-store';
  if (url === '/docs' || url.startsWith('/docs/') || url.startsWith('/docs-')) {
    headers['x-frame-options'] = 'DENY';
    headers['content-security-policy'] = "frame-ancestors 'none'";
  }
  return headers;
}
