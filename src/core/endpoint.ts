import { usageError } from './errors.js';

/** An HTTP endpoint the user named: every request orbitflow sends goes to it, and only to it. */
export interface Endpoint {
  /** Origin + base path, without a trailing slash or `/v1` (e.g. `http://127.0.0.1:8000`). */
  base: string;
  protocol: 'http:' | 'https:';
  hostname: string;
  port: number;
  /** Path prefix before `/v1/...` and `/orbitflow/v1/...` (empty for most servers; `/gw` for `http://host/gw/v1`). */
  pathPrefix: string;
  /** The URL as it may be printed or stored: without user:password. */
  display: string;
}

/** Accepts `http://host:port`, `http://host:port/v1`, `https://host/prefix/v1/` … */
export function parseEndpoint(url: string): Endpoint {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw usageError('--endpoint', `not a URL: '${url}'`, 'e.g. --endpoint http://127.0.0.1:8000');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw usageError('--endpoint', `expected an http:// or https:// URL, got '${u.protocol}'`);
  let path = u.pathname.replace(/\/+$/, '');
  if (path.endsWith('/v1')) path = path.slice(0, -3);
  const port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
  const hostname = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  const display = `${u.protocol}//${u.host}${path}`;
  return { base: display, protocol: u.protocol, hostname, port, pathPrefix: path, display };
}
