/**
 * A service URL as logs and error messages show it: any password replaced by `***`. A Redis URL
 * carries its password in the URL (`redis://:secret@host:6379`, `rediss://user:secret@...`), and so
 * may a registry's (basic auth); a start-up line or a "cannot reach" message must not copy it into
 * log collectors. Anything that does not parse as a URL is shown as given (it has been refused by
 * the settings already, or is not a URL: the registry's `none`).
 */
export function shownUrl(url: string): string {
  try {
    const parsed = new URL(url);
    // ioredis also takes its options from the query string (`?password=...`).
    const secrets = [...parsed.searchParams.keys()].filter((k) => SECRET_PARAMS.has(k.toLowerCase()));
    if (parsed.password === '' && secrets.length === 0) return url;
    if (parsed.password !== '') parsed.password = '***';
    for (const k of secrets) parsed.searchParams.set(k, '***');
    return parsed.toString();
  } catch {
    return url;
  }
}

const SECRET_PARAMS = new Set(['password', 'pass', 'pwd', 'secret', 'token']);
