// The daemon's local HTTP server: /healthz (200 only when healthy, JSON body with the reasons),
// /metrics (Prometheus text, ./metrics.ts), and the routes of the preview and the dashboard.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HealthReport } from '../watchdog.js';
import type { Metrics } from './metrics.js';
import { requestAuthorized } from './auth.js';

export { authorized } from './auth.js';

export interface HttpServer {
  port: number;
  close(): Promise<void>;
}

/** Extra routes (the preview, the dashboard): return true when the URL was handled. */
export type Route = (url: string, req: http.IncomingMessage, res: http.ServerResponse) => boolean;

/**
 * The local HTTP server. With a token (http.token / tokenFile; required when http.allowRemote),
 * every endpoint needs `Authorization: Bearer <token>` except /healthz, which then answers only
 * {"healthy": bool} — enough for a load balancer, nothing about the site. A browser may use the
 * dashboard's session cookie instead of the header (./auth.ts). `publicRoutes` come first and answer
 * without the token: only what holds no data (the dashboard's page shell and its session exchange,
 * which checks the token itself); they also see other methods than GET.
 */
export function startHttp(host: string, port: number, report: () => HealthReport | null, metrics: Metrics, routes: Route[] = [], token = '', publicRoutes: Route[] = []): Promise<HttpServer> {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    for (const route of publicRoutes) if (route(url, req, res)) return;
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    const ok = requestAuthorized(req.headers, token);
    if (url === '/healthz') {
      const r = report();
      const healthy = Boolean(r?.healthy);
      res.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify(ok ? (r ?? { healthy: false, reasons: ['starting'] }) : { healthy }));
      return;
    }
    if (!ok) {
      res.writeHead(401, { 'www-authenticate': 'Bearer' }).end('unauthorized: send Authorization: Bearer <http token>\n');
      return;
    }
    if (url === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        (e) => res.writeHead(500).end(String((e as Error).message)),
      );
      return;
    }
    for (const route of routes) if (route(url, req, res)) return;
    res.writeHead(404).end('not found: try /, /healthz or /metrics\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
      });
    });
  });
}
