// The supervisor's Node flags (D161): V8's young generation at 16 MB instead of Node's 1 MB start.
// Node grows its semi-spaces only when many objects survive, which the supervisor's per-frame
// garbage (results, MQTT packets, the tracker's matrices, the protocol: ≈ 56–60 KB a frame) never
// does, so it scavenged every ≈ 20 frames of a camera: 0.6 ms at p50, 4 ms at p90, up to 13 ms, in
// some frame's way. With 16 MB the same garbage is collected a sixteenth as often (≈ 6 ms each, about
// every 30 s at one camera). Flags cannot be set once Node runs, so every way the package starts the
// supervisor passes them: the systemd unit's ExecStart, `npm start`, and the bin's first line
// (`#!/usr/bin/env -S node …`); test/unit/node-flags.test.ts holds the three to this list. Engine
// workers do not get them (measured: more page faults, longer pauses; D161).

/** Node flags the supervisor is started with. */
export const SUPERVISOR_NODE_FLAGS: readonly string[] = ['--min-semi-space-size=16'];
