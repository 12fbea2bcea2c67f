// GStreamer sources: the gst-launch-1.0 pipeline that turns a camera into exact rgb24 frames on
// stdout or into a FIFO (what the daemon uses), the same contract as the ffmpeg source (model size, letterboxed with black bars, paced
// to fps). Pure.
//
//   gstreamer-nv  Jetson hardware decode: nvv4l2decoder (NVDEC) → nvvidconv (NVMM → system memory)
//   gstreamer-sw  software decode (avdec_h264): for machines without NVDEC, and for testing the
//                 same code path here
// After decoding both share: videorate (drop to fps), then
//   i420 (faces mode): the decoder's own YUV 4:2:0 at the camera's size (nvvidconv copies NVMM to
//     system memory as I420, in the VIC; avdec_h264 decodes to I420) → y4menc (YUV4MPEG2: the size
//     travels with the stream) → filesink to the FIFO; no colour conversion on the CPU;
//   rgb24 (classify mode): videoscale add-borders (letterbox) → videoconvert to RGB → fdsink / filesink.
// H.264 streams only.
import type { FrameFormat } from '../pre/yuv.js';

export type GstDecoder = 'gstreamer-nv' | 'gstreamer-sw';

export interface GstSpec {
  url: string;
  fps: number;
  /** rgb24 (default): letterboxed to width x height; i420: the camera's own size (width/height unused). */
  format?: FrameFormat;
  width: number;
  height: number;
  decoder: GstDecoder;
  /** RTSP TCP timeout. */
  rtspTimeoutSec: number;
}

/** fps as the fraction GStreamer caps take: 10 → "10/1", 2.5 → "5/2", 0.5 → "1/2". */
export function fpsFraction(fps: number): string {
  for (const d of [1, 2, 4, 5, 10, 100, 1000]) {
    const n = fps * d;
    if (Math.abs(n - Math.round(n)) < 1e-9) return `${Math.round(n)}/${d}`;
  }
  return `${Math.round(fps * 1000)}/1000`;
}

/**
 * The pipeline as gst-launch-1.0 argv tokens. gst-launch escapes the spaces inside each argument,
 * so a value (a path with spaces) stays one token and needs no quoting; "!" links elements.
 */
export function gstTokens(s: GstSpec, output?: string): string[] {
  const u = new URL(s.url);
  let input: string[][];
  if (u.protocol === 'rtsp:' || u.protocol === 'rtsps:') {
    input = [['rtspsrc', `location=${s.url}`, 'protocols=tcp', 'latency=0', `tcp-timeout=${Math.round(s.rtspTimeoutSec * 1e6)}`], ['rtph264depay'], ['h264parse']];
  } else if (u.protocol === 'file:') {
    input = [['filesrc', `location=${decodeURIComponent(u.pathname)}`], ['qtdemux'], ['h264parse']];
  } else {
    throw new Error(`unsupported camera URL scheme ${u.protocol} (rtsp://, rtsps:// or file://)`);
  }
  const i420 = s.format === 'i420';
  const decode = s.decoder === 'gstreamer-nv' ? [['nvv4l2decoder'], ['nvvidconv'], [`video/x-raw,format=${i420 ? 'I420' : 'BGRx'}`]] : [['avdec_h264']];
  // a file is paced to real time by the sink's clock; a live stream arrives in real time
  const sync = u.protocol === 'file:' ? 'true' : 'false';
  const elements = [
    ...input,
    ...decode,
    ['videorate', 'drop-only=true'],
    [`video/x-raw,framerate=${fpsFraction(s.fps)}`],
    // i420: videoconvert passes I420 through untouched (it converts only a decoder that gave another 4:2:0 layout)
    ...(i420
      ? [['videoconvert'], ['video/x-raw,format=I420'], ['y4menc']]
      : [['videoscale', 'add-borders=true'], [`video/x-raw,width=${s.width},height=${s.height},pixel-aspect-ratio=1/1`], ['videoconvert'], ['video/x-raw,format=RGB']]),
    output === undefined ? ['fdsink', 'fd=1', `sync=${sync}`] : ['filesink', `location=${output}`, `sync=${sync}`],
  ];
  return elements.flatMap((e, i) => (i ? ['!', ...e] : e));
}

/** The pipeline as one readable line (logs, docs). */
export function gstPipeline(s: GstSpec): string {
  return gstTokens(s).join(' ');
}

/** gst-launch-1.0 arguments: quiet (stdout may carry the frames), then the pipeline tokens; `output`: a FIFO path instead of stdout. */
export function gstArgs(s: GstSpec, output?: string): string[] {
  return ['-q', ...gstTokens(s, output)];
}
