import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the proxy does with one request: pass it on, never answer it, or redirect it. */
export type ProxyAction = 'forward' | 'hang' | { redirect: string };

export interface SeenRequest {
  method: string;
  path: string;
  authorization: string | undefined;
}

export interface ControlProxy {
  url: string;
  seen: SeenRequest[];
  /** Resolves the first time a request got `hang`. */
  hung: Promise<void>;
  close(): Promise<void>;
}

/**
 * A real HTTP server in front of a real engine that misbehaves on purpose, per request: forwards
 * it (after stripping `prefix`, which every request must carry), never answers it, or answers a
 * redirect. Records what it saw, headers included.
 */
export async function startControlProxy(target: string, choose: (method: string, path: string) => ProxyAction, prefix = ''): Promise<ControlProxy> {
  const seen: SeenRequest[] = [];
  const sockets = new Set<import('node:net').Socket>();
  let hungNow!: () => void;
  const hung = new Promise<void>((r) => (hungNow = r));
  const t = new URL(target);
  const server = http.createServer((req, res) => {
    const full = req.url ?? '/';
    seen.push({ method: req.method ?? 'GET', path: full, authorization: req.headers.authorization });
    if (!full.startsWith(`${prefix}/`)) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"no such route (prefix missing)","type":"NotFoundError","param":null,"code":404}}');
      return;
    }
    const path = full.slice(prefix.length);
    const action = choose(req.method ?? 'GET', path);
    if (action === 'hang') {
      req.resume();
      hungNow();
      return;
    }
    if (action !== 'forward') {
      req.resume();
      res.writeHead(307, { location: `${action.redirect}${path}`, 'content-length': 0 });
      res.end();
      return;
    }
    const up = http.request({ hostname: t.hostname, port: t.port, path, method: req.method, headers: { ...req.headers, host: t.host } }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    hung,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A server on another loopback address that only counts what reaches it (nothing should). */
export async function startWitness(host = '127.0.0.2'): Promise<{ url: string; hits: string[]; close(): Promise<void> }> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  return { url: `http://${host}:${(server.address() as AddressInfo).port}`, hits, close: () => new Promise<void>((r) => server.close(() => r())) };
}
