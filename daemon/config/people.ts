// The `people` config section (issue 14): tracking, per-person verdicts, events, snapshots and the
// detection cadence for cameras in faces mode. Defaults and why: docs/DECISIONS.md D40-D45.
import { bool, intRange, numRange, oneOf } from './convict.js';

export interface PeopleConfig {
  /** Track faces and publish people (events, counts); off = every frame classified from scratch, as before. */
  enabled: boolean;
  /** The detector on every n-th frame; frames between are carried by the tracks' predicted boxes. */
  detectEvery: number;
  /** Under load (frames dropped) a camera's cadence rises up to this, and falls back when it keeps up (D96). */
  detectEveryMax: number;
  /** Consecutive detected frames with a match before a track is a person (enter event). */
  minHits: number;
  /** A track not seen for this many camera frames has left. */
  maxLostFrames: number;
  /** Faces below the detector's threshold, down to this score, may continue a track (never start one). */
  lowScore: number;
  /** A track's face is classified again after this many frames… */
  readEveryFrames: number;
  /** …or when its area grew by this factor since its last reading… */
  growth: number;
  /** …or while its verdict scores below this (up to 5 readings). */
  uncertain: number;
  /** Snapshots of unmasked people on {site}/{camera}/mask/snapshot: off | on | blur (bystanders pixelated). */
  privacy: 'off' | 'on' | 'blur';
}

export const peopleSchema = {
  enabled: { doc: 'Track faces (per-face `track`), classify tracks instead of frames, publish per-person events and counts.', format: bool, default: true },
  detectEvery: { doc: 'Run the detector on every n-th frame; frames between are carried by the tracks\' predicted boxes (1 = every frame).', format: intRange(1, 30), default: 1 },
  detectEveryMax: { doc: 'Under load (a camera\'s frames dropped) its detector cadence rises up to every n-th frame, and steps back after 300 frames without a drop; equal to detectEvery = fixed cadence.', format: intRange(1, 30), default: 3 },
  minHits: { doc: 'Consecutive detected frames with a face before it is a person (enter event).', format: intRange(1, 30), default: 3 },
  maxLostFrames: { doc: 'A person not seen for this many frames has left (leave event).', format: intRange(0, 600), default: 15 },
  lowScore: { doc: 'Faces below the detector threshold down to this score (at most 0.7 of the threshold) may continue a track, never start one.', format: numRange(0.05, 0.99), default: 0.5 },
  readEveryFrames: { doc: 'A tracked face is classified again after this many frames.', format: intRange(1, 1000), default: 10 },
  growth: { doc: 'A tracked face is classified again when its area grew by this factor since its last reading.', format: numRange(1.01, 100), default: 1.5 },
  uncertain: { doc: 'A track whose verdict scores below this is classified again on the next detected frame (up to 5 readings).', format: numRange(0.5, 1), default: 0.8 },
  privacy: { doc: 'Snapshots of unmasked people: off (no images) | on | blur (other faces pixelated).', format: oneOf(['off', 'on', 'blur']), default: 'off' },
};
