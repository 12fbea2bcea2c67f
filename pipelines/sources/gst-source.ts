// One camera through GStreamer (gst-launch-1.0): Jetson hardware decode or software decode, with
// the ffmpeg source's frame contract and ProcessSource's restart and stall handling.
import { gstArgs, type GstSpec } from './gst-args.js';
import { ProcessSource, type ProcessSourceOptions } from './process-source.js';

export interface GstSourceOptions extends GstSpec, ProcessSourceOptions {
  /** default: gst-launch-1.0 on PATH */
  gstLaunchPath?: string;
}

export class GstSource extends ProcessSource {
  constructor(opts: GstSourceOptions) {
    super(opts, (output) => ({ path: opts.gstLaunchPath || 'gst-launch-1.0', args: gstArgs(opts, output) }));
  }
}
