import http from 'node:http';
import https from 'node:https';
import { ExitCode, OrbitflowError, usageError } from '../core/errors.js';

export interface Endpoint {
  /** Origin + base path, without a trailing slash or `/v1` (e.g. `http://127.0.0.1:8000`). */
  base: string;
  protocol: 'http:' | 'https:';
  hostname: string;
  port: number;
  /** Path prefix before `/v1/...` (empty for most servers). */
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

export interface ProbeResult {
  status: number;
  modelIds: string[];
}

/**
 * One quick `GET /v1/models`: proves the endpoint answers (any HTTP status does) and names the
 * served models. No answer within `timeoutMs` → exit 3.
 */
export function probeEndpoint(ep: Endpoint, headers: Record<string, string>, timeoutMs: number): Promise<ProbeResult> {
  const mod = ep.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const unreachable = (what: string): OrbitflowError =>
      new OrbitflowError('OF_REPLAY_UNREACHABLE', `endpoint ${ep.display} is unreachable: ${what}`, {
        exitCode: ExitCode.environmentMissing,
        context: { endpoint: ep.display },
        hint: 'start the server first, or check --endpoint',
      });
    const req = mod.request(
      { hostname: ep.hostname, port: ep.port, path: `${ep.pathPrefix}/v1/models`, method: 'GET', headers: { accept: 'application/json', ...headers }, agent: false },
      (res) => {
        const parts: Buffer[] = [];
        let size = 0;
        res.on('data', (d: Buffer) => {
          if (size < 1 << 20) parts.push(d);
          size += d.length;
        });
        res.on('end', () => {
          clearTimeout(timer);
          let modelIds: string[] = [];
          if (res.statusCode === 200) {
            try {
              const body = JSON.parse(Buffer.concat(parts).toString('utf8')) as { data?: Array<{ id?: unknown }> };
              modelIds = (body.data ?? []).map((m) => m.id).filter((id): id is string => typeof id === 'string');
            } catch {
              modelIds = [];
            }
          }
          resolve({ status: res.statusCode ?? 0, modelIds });
        });
        res.on('error', (e) => {
          clearTimeout(timer);
          reject(unreachable(e.message));
        });
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      reject(unreachable(`no answer to GET /v1/models within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(unreachable(e.code ?? e.message));
    });
    req.end();
  });
}
