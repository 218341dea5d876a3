/**
 * The one redaction applied to every error text orbitflow stores or prints, and to every output
 * as it is written: a registered secret's value (the API key), raw, JSON-escaped or URL-encoded, and the value
 * of anything that looks like an Authorization header or a bearer token, become `***`. A server
 * that echoes the key back (in an error body, an SSE error event, a model name) must not make
 * orbitflow store or print it.
 */

const secrets = new Set<string>();

/** Shorter values would mangle ordinary text and are no secret worth the name. */
const MIN_SECRET_CHARS = 4;

export function registerSecret(value: string): void {
  if (value.length < MIN_SECRET_CHARS) return;
  secrets.add(value);
  // As it appears inside JSON text and inside a URL.
  for (const form of [JSON.stringify(value).slice(1, -1), encodeURIComponent(value)]) if (form !== value) secrets.add(form);
}

// Values stop at quotes and backslashes, so redacting serialized JSON never breaks an escape.
const AUTH_HEADER = /(authorization["']?\s*[:=]\s*["']?)(?:bearer\s+)?[^\s"'\\,}\]]+/gi;
const BEARER = /\b(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/g;

export function redact(text: string): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join('***');
  return out.replace(AUTH_HEADER, '$1***').replace(BEARER, '$1***');
}
