import Bowser from 'bowser';

/** A user agent longer than this is cut before it is parsed: the header is the client's to fill. */
const UA_MAX_LENGTH = 512;
const SUMMARY_MAX_LENGTH = 60;

/**
 * What a session's device is, for a person to recognise it ("Chrome 156 on Linux", "Safari 17 on
 * iOS", "curl/8.5.0"); null without a User-Agent. Only this summary is stored, not the header.
 */
export function userAgentSummary(header: string | undefined): string | null {
  const ua = header?.slice(0, UA_MAX_LENGTH).trim();
  if (!ua) return null;
  const parser = Bowser.getParser(ua);
  const browser = parser.getBrowserName();
  const major = parser.getBrowserVersion()?.split('.')[0];
  const os = parser.getOSName();
  const product = ua.match(/^[\w.-]+(\/[\w.-]+)?/)?.[0];
  const name = browser ? [browser, major].filter(Boolean).join(' ') : os ? 'A browser' : (product ?? 'Unknown client');
  return (os ? `${name} on ${os}` : name).slice(0, SUMMARY_MAX_LENGTH);
}
