// Faces-mode results out to MQTT: per-frame results through the publish gate (rate limit), and the
// debounced state on {site}/{camera}/mask/state (retained, QoS 1, through MqttLink.publishRetained).
import { PublishGate, StateDebouncer, type PublishPolicy, type StateChange } from './face-events.js';
import type { FacesFrameResult } from './results.js';
import { monoMs } from './clock.js';

export interface FacesOutOptions {
  maskTopic: (camera: string) => string;
  stateTopic: (camera: string) => string;
  policy: PublishPolicy;
  hysteresis: number;
  publishFrame: (topic: string, payload: string) => void;
  publishRetained: (topic: string, payload: string) => void;
  onState?: (camera: string, change: StateChange) => void;
}

export class FacesOut {
  private gates = new Map<string, PublishGate>();
  private states = new Map<string, StateDebouncer>();
  /** Per camera: frames published and held back by the gate. */
  readonly stats = new Map<string, { published: number; held: number; stateChanges: number }>();

  constructor(private readonly o: FacesOutOptions) {}

  /** `nowMs`: the monotonic clock (the rate gate's interval, D165). */
  handle(r: FacesFrameResult, nowMs = monoMs()): void {
    const cam = r.camera;
    let gate = this.gates.get(cam);
    if (!gate) this.gates.set(cam, (gate = new PublishGate(this.o.policy)));
    let state = this.states.get(cam);
    if (!state) this.states.set(cam, (state = new StateDebouncer(this.o.hysteresis)));
    let st = this.stats.get(cam);
    if (!st) this.stats.set(cam, (st = { published: 0, held: 0, stateChanges: 0 }));

    if (gate.offer(nowMs, `${r.label}/${r.counts.faces}/${r.counts.no_mask}`)) {
      this.o.publishFrame(this.o.maskTopic(cam), JSON.stringify(r));
      st.published++;
    } else st.held++;

    const change = state.push(r.label, Date.parse(r.ts), r.frame, r.counts);
    if (change) {
      st.stateChanges++;
      this.o.publishRetained(this.o.stateTopic(cam), JSON.stringify({ camera: cam, ...change, frame: r.frame, ts: r.ts }));
      this.o.onState?.(cam, change);
    }
  }
}
