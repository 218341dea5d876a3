import http from 'node:http';
import https from 'node:https';
import type { Endpoint } from './endpoint.js';
import { setLongTimeout } from './timers.js';

/**
 * The HTTP rules every request of orbitflow follows, in one place: it goes to the endpoint the
 * user named (origin and path prefix), carries the headers given (the API key), never follows a
 * redirect (a 3xx is an answer, reported, so no request or body is ever re-sent elsewhere), and
 * has a deadline covering connect, headers and body.
 */

export function httpModule(ep: Endpoint): typeof http | typeof https {
  return ep.protocol === 'https:' ? https : http;
}

/** node:http request options for `path` (after the endpoint's prefix) on the endpoint. */
export function requestOptions(ep: Endpoint, path: string, method: string, headers: Record<string, string | number>): http.RequestOptions {
  return { hostname: ep.hostname, port: ep.port, path: `${ep.pathPrefix}${path}`, method, headers };
}

/** Why a 3xx answer was not followed, for error details. */
export function redirectRefusal(status: number, location: string | string[] | undefined): string {
  const to = Array.isArray(location) ? location[0] : location;
  return `HTTP ${status} redirect${to ? ` to ${to}` : ''} not followed: orbitflow sends requests only to the endpoint given`;
}

export function isRedirect(status: number): boolean {
  return status >= 300 && status < 400 && status !== 304;
}

export type HttpFailure = 'timeout' | 'network' | 'redirect' | 'aborted' | 'too-large';

export class HttpCallError extends Error {
  constructor(
    readonly kind: HttpFailure,
    message: string,
  ) {
    super(message);
  }
}

export interface HttpCall {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** The whole exchange must be over by then. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Bodies are read up to this (default 16 MiB); beyond, the call fails. */
  maxBodyBytes?: number;
}

export interface HttpAnswer {
  status: number;
  body: Buffer;
}

/** One request/response exchange under the rules above. Rejects with HttpCallError. */
export function httpCall(ep: Endpoint, c: HttpCall): Promise<HttpAnswer> {
  const label = `${c.method} ${c.path}`;
  const maxBody = c.maxBodyBytes ?? 16 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { accept: 'application/json', ...c.headers };
    if (c.body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(c.body);
    }
    let settled = false;
    const done = (err: HttpCallError | null, answer?: HttpAnswer): void => {
      if (settled) return;
      settled = true;
      timer.clear();
      c.signal?.removeEventListener('abort', onAbort);
      if (err) {
        req.destroy();
        reject(err);
      } else resolve(answer!);
    };
    const req = httpModule(ep).request({ ...requestOptions(ep, c.path, c.method, headers), agent: false }, (res) => {
      const status = res.statusCode ?? 0;
      if (isRedirect(status)) {
        res.resume();
        done(new HttpCallError('redirect', `${label}: ${redirectRefusal(status, res.headers.location)}`));
        return;
      }
      const parts: Buffer[] = [];
      let size = 0;
      res.on('data', (d: Buffer) => {
        size += d.length;
        if (size > maxBody) done(new HttpCallError('too-large', `${label}: answer over ${maxBody} bytes`));
        else parts.push(d);
      });
      res.on('end', () => done(null, { status, body: Buffer.concat(parts) }));
      res.on('error', (e) => done(new HttpCallError('network', `${label}: ${e.message}`)));
      res.on('close', () => done(new HttpCallError('network', `${label}: connection closed before the answer ended`)));
    });
    const timer = setLongTimeout(() => done(new HttpCallError('timeout', `${label}: no answer within ${c.timeoutMs} ms`)), c.timeoutMs);
    const onAbort = (): void => done(new HttpCallError('aborted', `${label}: aborted`));
    if (c.signal?.aborted) onAbort();
    else c.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (e: NodeJS.ErrnoException) => done(new HttpCallError('network', `${label}: ${e.code ?? e.message}`)));
    req.end(c.body);
  });
}

/** The JSON of an answer, or undefined when it is not JSON. */
export function answerJson(a: HttpAnswer): unknown {
  try {
    return JSON.parse(a.body.toString('utf8'));
  } catch {
    return undefined;
  }
}
