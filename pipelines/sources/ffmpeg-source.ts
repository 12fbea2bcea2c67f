// One camera through ffmpeg: RTSP/file → decode → fps → scale+letterbox → rgb24 on stdout.
// The process machinery (restarts, stall watchdog, frame splitting) is ProcessSource's.
import { ffmpegArgs, type SourceSpec } from './ffmpeg-args.js';
import { ProcessSource, type ProcessSourceOptions } from './process-source.js';

export type { Frame, SourceState, SourceStatus } from './process-source.js';

export interface SourceOptions extends SourceSpec, ProcessSourceOptions {
  ffmpegPath: string;
}

export class FfmpegSource extends ProcessSource {
  constructor(opts: SourceOptions) {
    super(opts, () => ({ path: opts.ffmpegPath, args: ffmpegArgs(opts) }));
  }
}
