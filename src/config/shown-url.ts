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
    if (parsed.password === '') return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}
