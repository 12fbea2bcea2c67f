// Prometheus metrics for /metrics (prom-client). Values are read from the watchdog's report at scrape
// time; the inference latency histogram is fed per result.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { HealthReport } from '../watchdog.js';

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
