// Who may read the local HTTP server: pure checks of a request's credentials.
//
// Programs send `Authorization: Bearer <token>`. A browser cannot put a header on a page load, an
// <img> or an EventSource, so the dashboard takes the token once from the URL fragment
// (http://host:9464/#token=…; a fragment never reaches the server, a proxy log or the Referer), trades
// it on POST /session (Authorization header) for a cookie, and drops the fragment from the address
// bar. The cookie holds HMAC-SHA256(token, "mobilenet-edge dashboard session"), not the token: it is
// good for this server only, HttpOnly (scripts cannot read it), SameSite=Strict (other sites cannot
// send it) and ends with the browser session; changing the token invalidates it (docs/DECISIONS.md D72).
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'mne_session';

/** Constant-time equality of two strings. */
function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Does an Authorization header carry the bearer token? Constant-time compare. */
export function authorized(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  return m ? same(m[1], token) : false;
}

/** The session cookie's value for a token. */
export function sessionValue(token: string): string {
  return createHmac('sha256', token).update('mobilenet-edge dashboard session').digest('base64url');
}

/** A cookie header's value for `name`, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/** Bearer header or session cookie; always true when no token is configured. */
export function requestAuthorized(headers: { authorization?: string; cookie?: string }, token: string): boolean {
  if (!token) return true;
  if (authorized(headers.authorization, token)) return true;
  const c = cookieValue(headers.cookie, SESSION_COOKIE);
  return c !== undefined && same(c, sessionValue(token));
}

/** Set-Cookie for a session (no Max-Age: it ends with the browser session). */
export function sessionSetCookie(token: string): string {
  return `${SESSION_COOKIE}=${sessionValue(token)}; Path=/; HttpOnly; SameSite=Strict`;
}
