// Run (or resume) a staged rollout: canaries first and their probation verdicts, then the waves;
// stop at the first failure. Progress comes from what the devices publish (model/progress, the
// result, the retained model/state), never from broker acks alone. The record is saved after every
// change, so an interrupted run can be resumed: devices that already run the model are not sent it
// again.
import type { MqttClient } from 'mqtt';
import { allProgressTopic, allStatesTopic, type ProgressPayload, type StatePayload } from '../ota/protocol.js';
import { newTransferId, pushToDevice } from '../push.js';
import { probationVerdict, sameModel } from './plan.js';
import { STAGE_ORDER, type DeviceRun, type RolloutState, type Stage } from './state.js';

export interface RunOptions {
  /** After a device's probation should have ended, how long to wait for its verdict. */
  probationGraceMs: number;
  save: (s: RolloutState) => void;
  onChange: (d: DeviceRun) => void;
}

/** Live view of the site: every device's retained state and progress messages, with waiters. */
class SiteWatch {
  readonly states = new Map<string, StatePayload>();
  private wake: (() => void)[] = [];
  constructor(
    private readonly client: MqttClient,
    private readonly site: string,
    private readonly onProgress: (p: ProgressPayload) => void,
  ) {}
  private readonly onMessage = (topic: string, payload: Buffer) => {
    const p = topic.split('/');
    if (p[0] !== this.site || p[2] !== 'model') return;
    try {
      if (p.length === 4 && p[3] === 'state') this.states.set(p[1], JSON.parse(payload.toString('utf8')));
      else if (p.length === 5 && p[3] === 'progress') this.onProgress(JSON.parse(payload.toString('utf8')));
      else return;
    } catch {
      return; // junk on our topics: ignore
    }
    for (const w of this.wake.splice(0)) w();
  };
  async start(): Promise<void> {
    this.client.on('message', this.onMessage);
    await this.client.subscribeAsync([allStatesTopic(this.site), allProgressTopic(this.site)], { qos: 1 });
  }
  async stop(): Promise<void> {
    this.client.off('message', this.onMessage);
    await this.client.unsubscribeAsync([allStatesTopic(this.site), allProgressTopic(this.site)]).catch(() => undefined);
  }
  /** Resolves at the next state/progress message or after ms. */
  changed(ms: number): Promise<void> {
    return new Promise((r) => {
      const t = setTimeout(r, ms);
      this.wake.push(() => (clearTimeout(t), r()));
    });
  }
}

const later = (a: Stage, b: Stage) => STAGE_ORDER.indexOf(a) > STAGE_ORDER.indexOf(b);

/** Runs the rollout; resolves with the devices' states as last seen (for the final table). */
export async function runRollout(client: MqttClient, st: RolloutState, bundle: Buffer, o: RunOptions): Promise<Map<string, StatePayload>> {
  const set = (d: DeviceRun, patch: Partial<DeviceRun>) => {
    Object.assign(d, patch);
    o.save(st);
    o.onChange(d);
  };
  const byTransfer = new Map<string, DeviceRun>();
  const watch = new SiteWatch(client, st.site, (p) => {
    const d = byTransfer.get(p.transferId);
    if (!d || d.device !== p.deviceId || d.stage === 'failed' || !later(p.stage, d.stage)) return;
    set(d, { stage: p.stage, chunks: [p.received, p.count] });
  });
  await watch.start();
  try {
    // the retained states arrive right after the SUBACK: wait for the targeted devices' (at most 1 s)
    const t0 = Date.now();
    while (Object.keys(st.devices).some((d) => !watch.states.has(d)) && Date.now() - t0 < 1000) await watch.changed(200);
    for (const d of Object.values(st.devices)) if (d.before === undefined || (d.before === null && watch.states.has(d.device))) d.before = watch.states.get(d.device)?.active ?? null;
    const model = st.model;
    const runs = (names: string[]) => names.map((n) => st.devices[n]);

    const send = async (d: DeviceRun): Promise<void> => {
      const live = watch.states.get(d.device);
      if (['active', 'passed'].includes(d.stage) && sameModel(live?.active, model)) return; // resumed: already there
      const transferId = newTransferId();
      byTransfer.set(transferId, d);
      set(d, { stage: 'sending', transferId, code: undefined, why: undefined, chunks: undefined });
      const r = await pushToDevice(client, { site: st.site, device: d.device, bundle, timeoutMs: st.timeoutMs, chunkBytes: st.chunkBytes, transferId });
      if (r.ok) set(d, { stage: 'active', code: r.code, why: r.message, ms: r.ms });
      else set(d, { stage: 'failed', code: r.code, why: r.message, ms: r.ms });
    };

    /** Wait for the canaries' probation verdicts (passed, rolled back, or none in time). */
    const verdicts = async (ds: DeviceRun[]): Promise<void> => {
      const deadline = new Map<string, number>();
      for (;;) {
        let waiting = false;
        for (const d of ds.filter((x) => x.stage === 'active')) {
          const v = probationVerdict(watch.states.get(d.device), model, d.transferId!);
          if (v.kind === 'passed') set(d, { stage: 'passed', probationUntil: null });
          else if (v.kind === 'failed') set(d, { stage: 'failed', code: 'ROLLED_BACK', why: v.why });
          else {
            const end = Math.max(deadline.get(d.device) ?? 0, (v.until ?? Date.now()) + o.probationGraceMs);
            deadline.set(d.device, end);
            if (v.until && d.probationUntil !== new Date(v.until).toISOString()) set(d, { probationUntil: new Date(v.until).toISOString() });
            if (Date.now() > end) set(d, { stage: 'failed', code: 'NO_VERDICT', why: `no probation verdict by ${new Date(end).toISOString()} (device offline?)` });
            else waiting = true;
          }
        }
        if (!waiting) return;
        await watch.changed(1000);
      }
    };

    /** Devices already sent the model that have since rolled it back (probation failing after their wave). */
    const lateRollbacks = () => {
      for (const d of Object.values(st.devices).filter((x) => x.stage === 'active')) {
        const v = probationVerdict(watch.states.get(d.device), model, d.transferId!);
        if (v.kind === 'failed') set(d, { stage: 'failed', code: 'ROLLED_BACK', why: v.why });
        else if (v.kind === 'passed') set(d, { stage: 'passed', probationUntil: null });
      }
    };
    const firstFailure = () => Object.values(st.devices).find((d) => d.stage === 'failed');
    const stop = (why: string) => {
      st.phase = 'stopped';
      st.stoppedBy = why;
      for (const d of Object.values(st.devices)) if (d.stage === 'pending') set(d, { stage: 'skipped', code: 'NOT_SENT', why: `rollout stopped: ${why}` });
      o.save(st);
    };
    const failureText = (d: DeviceRun) => `${d.role === 'canary' ? 'canary ' : ''}${d.device} failed (${d.code})`;

    if (st.phase === 'interrupted') st.phase = Object.values(runs(st.plan.canaries)).every((d) => d.stage === 'passed') ? 'waves' : 'canaries';
    st.pid = process.pid;
    o.save(st);
    if (st.phase === 'canaries') {
      const canaries = runs(st.plan.canaries);
      await Promise.all(canaries.filter((d) => d.stage !== 'passed').map(send));
      await verdicts(canaries);
      const bad = canaries.find((d) => d.stage === 'failed');
      if (bad) return stop(failureText(bad)), watch.states;
      st.phase = 'waves';
      o.save(st);
    }
    for (const wave of st.plan.waves) {
      lateRollbacks();
      const bad = firstFailure();
      if (bad) return stop(failureText(bad)), watch.states;
      await Promise.all(runs(wave).filter((d) => d.stage !== 'passed').map(send));
    }
    lateRollbacks();
    const bad = firstFailure();
    if (bad) stop(failureText(bad));
    else st.phase = 'done';
    o.save(st);
    return watch.states;
  } finally {
    await watch.stop();
  }
}
