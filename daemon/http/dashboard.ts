// The installer's page: a dashboard served by the daemon's own HTTP server (docs/DECISIONS.md D70–D74).
//
//   GET  /                 the page (daemon/http/page/, plain HTML + one script + one stylesheet)
//   GET  /ui/{file}        its assets; the page shell needs no token, it holds no data
//   POST /session          Authorization: Bearer <token> → session cookie (./auth.ts); 401 if wrong
//   GET  /session          204 with a valid cookie or header, else 401 (the page asks before it asks for a token)
//   GET  /api/stream       server-sent events: hello, health (1/s), frame (live view), people, counts, model
//   GET  /api/snapshot/{id}.jpg   a person's snapshot, as published on {site}/{camera}/mask/snapshot
//
// Costs nothing while nobody has it open, by structure: the per-frame hook `live` is null unless a
// stream client is connected (the pipeline's callback then does one null check: no frame hold, no
// copy, no JPEG, no JSON), and the 1 s health timer exists only while a client is connected. What
// runs without a client is the listener on the MQTT publisher's 'publish' event, which keeps the
// people events, snapshots and model state (a few per person, not per frame); for a per-frame
// result it is one Map lookup of the topic.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HealthReport } from '../watchdog.js';
import type { Logger } from '../log.js';
import type { PublishEventOptions } from '../mqtt/link.js';
import { authorized, requestAuthorized, sessionSetCookie } from './auth.js';
import { encodeFrame, shouldEncode, type PreviewFrame } from './preview.js';
import { People, isPersonEvent } from './people.js';
import { monoMs } from '../../pipelines/clock.js';

type Box = readonly [number, number, number, number] | readonly number[];
/** A face as the pipeline hands it over; `track` comes with issue 14's tracker. */
export interface TapFace {
  box: Box;
  label: string;
  score: number;
  track?: number;
}

/** The per-frame hook: called by the daemon's result callbacks, only while it is not null. */
export type LiveTap = (camera: string, frame: PreviewFrame, label: string, faces?: readonly TapFace[], workingFaces?: readonly TapFace[]) => void;

/** Something that emits the MQTT publisher's local 'publish' event (daemon/mqtt/link.ts). */
export interface PublishSource {
  on(event: 'publish', fn: (topic: string, payload: string | Buffer, options: PublishEventOptions) => void): unknown;
  off(event: 'publish', fn: (topic: string, payload: string | Buffer, options: PublishEventOptions) => void): unknown;
}

export interface DashboardOptions {
  site: string;
  deviceId: string;
  version: string;
  cameras: readonly { id: string; mode: string }[];
  /** http.token; '' = none (loopback only). */
  token: string;
  /** Live view: most frames per second per camera, JPEG quality, widest picture sent. */
  fps: number;
  quality: number;
  maxWidth: number;
  /** Folder of the page's static files. */
  pageDir: string;
  report: () => HealthReport | null;
  publisher: PublishSource;
  modelStateTopic: string;
}

const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', svg: 'image/svg+xml' };
/** Nothing from outside: scripts, styles, pictures and connections only from this server. */
const HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};
/** A stream client this far behind gets no frames until it catches up (people and health still go). */
const SLOW_CLIENT_BYTES = 1 << 20;

export class Dashboard {
  /** The per-frame hook; null while nobody has the page open. */
  live: LiveTap | null = null;
  readonly people = new People();
  private readonly files = new Map<string, { type: string; body: Buffer }>();
  private readonly clients = new Set<ServerResponse>();
  private readonly cams = new Map<string, { busy: boolean; lastAt: number }>();
  /** topic → what it is; one lookup per publish. */
  private readonly topics = new Map<string, { kind: 'events' | 'snapshot' | 'model'; camera: string }>();
  private model: unknown = null;
  private timer: NodeJS.Timeout | null = null;
  private lastCounts = '';

  constructor(
    private readonly o: DashboardOptions,
    private readonly log: Logger,
  ) {
    for (const name of readdirSync(o.pageDir)) {
      const ext = name.split('.').pop() ?? '';
      if (TYPES[ext]) this.files.set(name, { type: TYPES[ext], body: readFileSync(join(o.pageDir, name)) });
    }
    if (!this.files.has('index.html')) throw new Error(`dashboard page missing: ${join(o.pageDir, 'index.html')}`);
    for (const c of o.cameras) {
      this.cams.set(c.id, { busy: false, lastAt: -Infinity });
      this.topics.set(`${o.site}/${c.id}/mask/events`, { kind: 'events', camera: c.id });
      this.topics.set(`${o.site}/${c.id}/mask/snapshot`, { kind: 'snapshot', camera: c.id });
    }
    this.topics.set(o.modelStateTopic, { kind: 'model', camera: '' });
    o.publisher.on('publish', this.onPublish);
  }

  /** Routes that answer without the token: the page shell and the session exchange. */
  publicRoute = (url: string, req: IncomingMessage, res: ServerResponse): boolean => {
    if (url === '/session') {
      if (req.method === 'POST') {
        if (this.o.token && !authorized(req.headers.authorization, this.o.token)) return this.unauthorized(res), true;
        res.writeHead(204, this.o.token ? { 'set-cookie': sessionSetCookie(this.o.token), 'cache-control': 'no-store' } : {}).end();
      } else if (req.method === 'GET') {
        if (!requestAuthorized(req.headers, this.o.token)) this.unauthorized(res);
        else res.writeHead(204, { 'cache-control': 'no-store' }).end();
      } else res.writeHead(405, { allow: 'GET, POST' }).end();
      return true;
    }
    const name = url === '/' ? 'index.html' : url.startsWith('/ui/') ? url.slice(4) : null;
    if (name === null || req.method !== 'GET') return false;
    const f = this.files.get(name);
    if (!f) res.writeHead(404).end('not found\n');
    else res.writeHead(200, { 'content-type': f.type, ...HEADERS }).end(f.body);
    return true;
  };

  /** Routes behind the token (the server checked it). */
  route = (url: string, _req: IncomingMessage, res: ServerResponse): boolean => {
    if (url === '/api/stream') return this.open(res), true;
    const m = /^\/api\/snapshot\/(\d+)\.jpg$/.exec(url);
    if (!m) return false;
    const jpeg = this.people.image(Number(m[1]));
    if (!jpeg) res.writeHead(404).end('no such snapshot (gone, or never published)\n');
    else res.writeHead(200, { 'content-type': 'image/jpeg', 'cache-control': 'private, max-age=86400', 'x-content-type-options': 'nosniff' }).end(jpeg);
    return true;
  };

  close(): void {
    this.o.publisher.off('publish', this.onPublish);
    for (const res of this.clients) res.end();
    this.clients.clear();
    this.idle();
  }

  /** Stream clients connected now. */
  get watchers(): number {
    return this.clients.size;
  }

  private unauthorized(res: ServerResponse): void {
    res.writeHead(401, { 'www-authenticate': 'Bearer', 'cache-control': 'no-store' }).end('unauthorized: open the page as http://<device>:<port>/#token=<http token>\n');
  }

  private open(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    res.write('retry: 3000\n\n');
    const o = this.o;
    this.send(res, 'hello', { site: o.site, deviceId: o.deviceId, version: o.version, cameras: o.cameras, fps: o.fps });
    this.send(res, 'health', this.health());
    this.send(res, 'model', this.model);
    this.send(res, 'people', this.peopleView());
    this.send(res, 'counts', this.people.counts(this.cameraIds()));
    this.clients.add(res);
    res.on('close', () => {
      this.clients.delete(res);
      if (this.clients.size === 0) this.idle();
    });
    if (this.clients.size === 1) {
      this.live = this.offer;
      this.timer = setInterval(() => this.tick(), 1000);
    }
  }

  /** Nobody watches: no per-frame hook, no timer. */
  private idle(): void {
    this.live = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private tick(): void {
    this.broadcast('health', this.health());
    const counts = this.people.counts(this.cameraIds());
    const key = JSON.stringify(counts);
    if (key !== this.lastCounts) {
      this.lastCounts = key;
      this.broadcast('counts', counts);
    }
  }

  private cameraIds(): string[] {
    return this.o.cameras.map((c) => c.id);
  }

  /** The watchdog's report without the camera processes' stderr lines. */
  private health(): unknown {
    const r = this.o.report();
    if (!r) return null;
    const cameras = Object.fromEntries(Object.entries(r.cameras).map(([id, c]) => [id, { ...c, stderr: undefined }]));
    return { ...r, cameras };
  }

  private peopleView(): unknown {
    return this.people.list().map((r) => ({ ...r, snapshotUrl: r.snapshotId === null ? null : `/api/snapshot/${r.snapshotId}.jpg` }));
  }

  private readonly offer: LiveTap = (camera, frame, label, faces, working) => {
    const st = this.cams.get(camera);
    if (!st) return;
    const now = monoMs(); // the throttle's interval (D165); `at` is the wall clock
    if (!shouldEncode({ watchers: this.clients.size, busy: st.busy, lastAt: st.lastAt }, now, this.o.fps)) return;
    st.busy = true;
    st.lastAt = now;
    const at = new Date().toISOString();
    frame.hold(); // until encoded
    const shown = (working ?? faces ?? []).map((w, i) => {
      const f = faces?.[i] ?? w;
      return { box: w.box.map((v) => Math.round(v)), track: typeof f.track === 'number' ? f.track : null, label: f.label, score: Math.round(f.score * 1000) / 1000 };
    });
    const size = [frame.width, frame.height];
    encodeFrame(frame, this.o.quality, this.o.maxWidth)
      .then((jpeg) => this.broadcast('frame', { camera, seq: frame.seq, at, size, label, faces: shown, jpeg: jpeg.toString('base64') }, true))
      .catch((e) => this.log.warn('live view encode failed', { camera, err: (e as Error).message }))
      .finally(() => {
        st.busy = false;
        frame.release();
      });
  };

  private readonly onPublish = (topic: string, payload: string | Buffer, options?: PublishEventOptions & { person?: string }): void => {
    const t = this.topics.get(topic);
    if (!t) return;
    if (t.kind === 'snapshot') {
      // A publisher that names the person (options.person) is matched exactly, else by order (./people.ts).
      this.people.snapshot(t.camera, Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'latin1'), options?.person);
      return this.changed();
    }
    let v: unknown;
    try {
      v = JSON.parse(payload.toString());
    } catch {
      return;
    }
    if (t.kind === 'model') {
      this.model = v;
      this.broadcast('model', v);
    } else if (isPersonEvent(v)) {
      this.people.event(v);
      this.changed();
    }
  };

  private changed(): void {
    if (this.clients.size === 0) return;
    this.broadcast('people', this.peopleView());
    const counts = this.people.counts(this.cameraIds());
    this.lastCounts = JSON.stringify(counts);
    this.broadcast('counts', counts);
  }

  private send(res: ServerResponse, event: string, data: unknown): void {
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private broadcast(event: string, data: unknown, droppable = false): void {
    if (this.clients.size === 0) return;
    const msg = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of this.clients) if (!droppable || res.writableLength < SLOW_CLIENT_BYTES) res.write(msg);
  }
}
