// Wiring of people (issue 14): the PeopleStage for the pipeline, its events out on
// {site}/{camera}/mask/events (QoS 1, not retained, through the outbox) and snapshots of unmasked
// people on {site}/{camera}/mask/snapshot (retained, newest only).
import type { Config } from './config/config.js';
import type { Manifest } from '../models/manifest.js';
import type { Logger } from './log.js';
import type { MqttLink } from './mqtt/link.js';
import { readManifest } from '../models/manifest-file.js';
import { lowScoreFor, PeopleStage } from '../pipelines/tracking/stage.js';

export async function startPeople(config: Config, manifest: Manifest, mqtt: MqttLink, t: { events: (c: string) => string; snapshot: (c: string) => string }, log: Logger): Promise<PeopleStage> {
  const p = config.people;
  // confident faces start tracks: the detector's own threshold (config, else its manifest's)
  const high = config.faces.scoreThreshold > 0 ? config.faces.scoreThreshold : ((await readManifest(config.faces.detector)).detect?.scoreThreshold ?? 0.7);
  const stage = new PeopleStage({
    high,
    low: lowScoreFor(high, p.lowScore),
    privacy: p.privacy,
    // the classifier's decision rule (issue 15), when its manifest has one: verdicts decide like faces
    ...(manifest.decision ? { rule: manifest.decision } : {}),
    detectEvery: p.detectEvery,
    detectEveryMax: p.detectEveryMax,
    tracker: { minHits: p.minHits, maxLostFrames: p.maxLostFrames },
    reading: { everyFrames: p.readEveryFrames, growth: p.growth, uncertain: p.uncertain },
    onEvents: (events) => {
      for (const e of events) {
        mqtt.publishDurable(t.events(e.camera), JSON.stringify(e));
        log.info(`${e.camera} person ${e.type} ${e.person} ${e.label ?? '-'}`, { readings: e.readings, ...(e.durationMs !== undefined ? { durationMs: e.durationMs } : {}) });
      }
    },
    onSnapshot: (camera, jpeg, e) => {
      mqtt.publishRetainedBinary(t.snapshot(camera), jpeg);
      log.debug('snapshot', { camera, person: e.person, bytes: jpeg.length });
    },
    onError: (err) => log.warn('snapshot not encoded', { err: err.message }),
  });
  log.info('people tracking', { detectEvery: p.detectEvery, detectEveryMax: Math.max(p.detectEvery, p.detectEveryMax), minHits: p.minHits, maxLostFrames: p.maxLostFrames, high, low: lowScoreFor(high, p.lowScore), privacy: p.privacy });
  return stage;
}
