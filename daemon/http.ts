// /healthz (200 only when healthy, JSON body with the reasons) and /metrics (Prometheus text via
// prom-client) on a local port. Values are read from the watchdog's report at scrape time; the
// inference latency histogram is fed per result.
import http from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { HealthReport } from './watchdog.js';

export class Metrics {
  readonly registry = new Registry();
  private readonly inference: Histogram<string>;

  constructor(report: () => HealthReport | null) {
    const r = this.registry;
    const perCamera = (name: string, help: string, pick: (c: HealthReport['cameras'][string]) => number) =>
      new Counter({
        name,
        help,
        labelNames: ['camera'],
        registers: [r],
        collect() {
          this.reset();
          for (const [camera, c] of Object.entries(report()?.cameras ?? {})) this.inc({ camera }, pick(c));
        },
      });
    perCamera('mobilenet_edge_frames_in_total', 'Frames delivered by the camera process.', (c) => c.frames);
    perCamera('mobilenet_edge_frames_out_total', 'Frames classified and published.', (c) => c.results);
    perCamera('mobilenet_edge_frames_reused_total', 'Frames not sent to the detector (no motion, cameras[].motion): the last result was published again.', (c) => c.reused ?? 0);
    perCamera('mobilenet_edge_frames_dropped_total', 'Frames dropped (newer frame waiting, engine down or failing).', (c) => c.dropped);
    perCamera('mobilenet_edge_camera_restarts_total', 'Camera process restarts.', (c) => c.restarts);
    new Gauge({
      name: 'mobilenet_edge_camera_fps',
      help: 'Frames per second delivered by the camera process (last second).',
      labelNames: ['camera'],
      registers: [r],
      collect() {
        this.reset();
        for (const [camera, c] of Object.entries(report()?.cameras ?? {})) this.set({ camera }, c.fps);
      },
    });
    new Counter({
      name: 'mobilenet_edge_engine_restarts_total',
      help: 'Engine worker restarts.',
      registers: [r],
      collect() {
        this.reset();
        this.inc(report()?.engine.restarts ?? 0);
      },
    });
    new Gauge({
      name: 'mobilenet_edge_healthy',
      help: '1 when the supervisor health check passes (the systemd watchdog is fed), else 0.',
      registers: [r],
      collect() {
        this.set(report()?.healthy ? 1 : 0);
      },
    });
    new Gauge({
      name: 'mobilenet_edge_mqtt_connected',
      help: '1 while connected to the MQTT broker.',
      registers: [r],
      collect() {
        this.set(report()?.mqtt.connected ? 1 : 0);
      },
    });
    new Gauge({
      name: 'mobilenet_edge_mqtt_outbox_queued',
      help: 'State events waiting in the outbox for the broker.',
      registers: [r],
      collect() {
        this.set(report()?.mqtt.outbox.queued ?? 0);
      },
    });
    new Counter({
      name: 'mobilenet_edge_mqtt_dropped_total',
      help: 'Per-frame results dropped while the broker was away.',
      registers: [r],
      collect() {
        this.reset();
        this.inc(report()?.mqtt.dropped ?? 0);
      },
    });
    new Counter({
      name: 'mobilenet_edge_people_total',
      help: 'People who passed a camera (counted when they leave), by final verdict, since start.',
      labelNames: ['camera', 'label'],
      registers: [r],
      collect() {
        this.reset();
        for (const [camera, p] of Object.entries(report()?.people ?? {})) for (const label of ['mask', 'no_mask'] as const) this.inc({ camera, label }, p.total[label]);
      },
    });
    this.inference = new Histogram({
      name: 'mobilenet_edge_inference_ms',
      help: 'Inference time per frame in the engine worker (ms).',
      buckets: [0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers: [r],
    });
  }

  observeInference(ms: number): void {
    this.inference.observe(ms);
  }
}

export interface HttpServer {
  port: number;
  close(): Promise<void>;
}

/** Extra GET routes (e.g. the preview): return true when the URL was handled. */
export type Route = (url: string, req: http.IncomingMessage, res: http.ServerResponse) => boolean;

/** Does an Authorization header carry the bearer token? Constant-time compare. Pure. */
export function authorized(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1]);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The local HTTP server. With a token (http.token / tokenFile; required when http.allowRemote),
 * every endpoint needs `Authorization: Bearer <token>` except /healthz, which then answers only
 * {"healthy": bool} — enough for a load balancer, nothing about the site.
 */
export function startHttp(host: string, port: number, report: () => HealthReport | null, metrics: Metrics, routes: Route[] = [], token = ''): Promise<HttpServer> {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    const ok = !token || authorized(req.headers.authorization, token);
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
    res.writeHead(404).end('not found: try /healthz or /metrics\n');
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
