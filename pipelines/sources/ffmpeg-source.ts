// One camera through ffmpeg: RTSP/file → decode → fps → scale+letterbox → rgb24 into the source's FIFO.
// The process machinery (restarts, stall watchdog, frame splitting) is ProcessSource's.
import { ffmpegArgs, isHeaderLine, parseInputVideoSize, type SourceSpec } from './ffmpeg-args.js';
import { ProcessSource, type ProcessSourceOptions } from './process-source.js';

export type { Frame, SourceState, SourceStatus } from './process-source.js';

export interface SourceOptions extends SourceSpec, ProcessSourceOptions {
  ffmpegPath: string;
}

export class FfmpegSource extends ProcessSource {
  private sawInput = false;

  constructor(opts: SourceOptions) {
    super(opts, (output) => {
      this.sawInput = false;
      return { path: opts.ffmpegPath, args: ffmpegArgs(opts, `file:${output}`) };
    });
  }

  protected override keepStderrLine(line: string): boolean {
    if (!this.sawInput) {
      const size = parseInputVideoSize(line);
      if (size) {
        this.sourceSize = size;
        this.sawInput = true; // later Stream lines describe our rawvideo output
      }
    }
    return !isHeaderLine(line);
  }
}
