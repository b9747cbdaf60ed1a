/** One `Set-Cookie` header, parsed. Attribute names are lower-cased; flags map to `''`. */
export interface SetCookie {
  name: string;
  value: string;
  attributes: Map<string, string>;
  raw: string;
}

/** Every `Set-Cookie` header of a response. */
export function setCookies(headers: Headers): SetCookie[] {
  return headers.getSetCookie().map((raw) => {
    const [pair, ...attributes] = raw.split(';').map((part) => part.trim());
    const eq = pair.indexOf('=');
    return {
      name: pair.slice(0, eq),
      value: decodeURIComponent(pair.slice(eq + 1)),
      attributes: new Map(
        attributes.map((attribute) => {
          const at = attribute.indexOf('=');
          return at < 0
            ? [attribute.toLowerCase(), '']
            : [attribute.slice(0, at).toLowerCase(), attribute.slice(at + 1)];
        }),
      ),
      raw,
    };
  });
}

/** The `Set-Cookie` for `name`, or a failure listing what was set. */
export function setCookie(headers: Headers, name: string): SetCookie {
  const found = setCookies(headers).find((cookie) => cookie.name === name);
  if (!found)
    throw new Error(`no Set-Cookie for ${name} in ${JSON.stringify(headers.getSetCookie())}`);
  return found;
}

/** A `Cookie` request header from name/value pairs. */
export function cookieHeader(cookies: Record<string, string>): string {
  return Object.entries(cookies)
    .map(([name, value]) => `${name}=${encodeURIComponent(value)}`)
    .join('; ');
}

/** True when the cookie is being deleted (Max-Age=0 or an Expires in the past). */
export function isExpired(cookie: SetCookie): boolean {
  const maxAge = cookie.attributes.get('max-age');
  const expires = cookie.attributes.get('expires');
  return maxAge === '0' || (expires !== undefined && Date.parse(expires) <= Date.now());
}
