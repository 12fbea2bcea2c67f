// Pure pieces of the ffmpeg source: command line, restart backoff, reading ffmpeg's stream dump.
import type { FrameFormat } from '../pre/yuv.js';

export interface SourceSpec {
  url: string;
  fps: number;
  /**
   * rgb24 (default): frames scaled and letterboxed (black bars) to exactly width x height (the model
   * input). i420: the decoder's own YUV 4:2:0 at the camera's size, only scaled down (aspect kept, no
   * bars) when larger than width x height; written as YUV4MPEG2, which carries the size.
   */
  format?: FrameFormat;
  width: number;
  height: number;
  /** Only this region [x, y, w, h] of the picture, in source pixels. */
  roi?: readonly [number, number, number, number];
  /** file:// sources only: replay the clip forever. */
  loop: boolean;
  /** RTSP socket I/O timeout. */
  rtspTimeoutSec: number;
}

/**
 * Video filter: pace to fps, then rgb24: keep aspect ratio, pad to the exact size centred, RGB24;
 * i420: scale down only a picture larger than width x height (no padding, even sizes), stay YUV 4:2:0
 * (a picture that fits passes through without scaling or conversion).
 */
export function videoFilter(s: Pick<SourceSpec, 'fps' | 'width' | 'height' | 'roi' | 'format'>): string {
  const roi = s.roi ? [`crop=${s.roi[2]}:${s.roi[3]}:${s.roi[0]}:${s.roi[1]}`] : [];
  if (s.format === 'i420')
    return [...roi, `fps=${s.fps}`, `scale='min(iw,${s.width})':'min(ih,${s.height})':force_original_aspect_ratio=decrease:force_divisible_by=2:flags=bilinear`, 'format=yuv420p'].join(',');
  return [
    // A region of interest is cut from the camera's picture first (source pixels).
    ...roi,
    `fps=${s.fps}`,
    `scale=${s.width}:${s.height}:force_original_aspect_ratio=decrease:flags=bilinear`,
    `pad=${s.width}:${s.height}:(ow-iw)/2:(oh-ih)/2:color=black`,
    'format=rgb24',
  ].join(',');
}

/**
 * The ffmpeg arguments that turn a camera URL into raw RGB24 frames written to `output`: a FIFO's
 * path (what the daemon uses, see fifo-reader.ts; -y because the FIFO exists) or pipe:1 (stdout).
 */
export function ffmpegArgs(s: SourceSpec, output = 'pipe:1'): string[] {
  const input: string[] = [];
  const u = new URL(s.url);
  if (u.protocol === 'rtsp:' || u.protocol === 'rtsps:') {
    // TCP transport; -timeout is the socket I/O timeout in µs (ffmpeg 5.1 rejects -stimeout / -rw_timeout).
    // Low-latency probing: first frame in ~0.4 s instead of ~3 s.
    input.push('-rtsp_transport', 'tcp', '-timeout', String(Math.round(s.rtspTimeoutSec * 1e6)));
    input.push('-fflags', 'nobuffer', '-flags', 'low_delay', '-probesize', '32', '-analyzeduration', '0');
    input.push('-i', s.url);
  } else if (u.protocol === 'file:') {
    input.push('-re');
    if (s.loop) input.push('-stream_loop', '-1');
    input.push('-i', decodeURIComponent(u.pathname));
  } else {
    throw new Error(`unsupported camera URL scheme ${u.protocol} (rtsp://, rtsps:// or file://)`);
  }
  // Log level info (without the progress line) so the input's stream dump tells the camera's own
  // resolution; faces boxes are mapped back to it (parseInputVideoSize, isHeaderLine).
  const muxer = s.format === 'i420' ? ['-f', 'yuv4mpegpipe', '-pix_fmt', 'yuv420p'] : ['-f', 'rawvideo', '-pix_fmt', 'rgb24'];
  return ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'info', ...input, '-an', '-sn', '-dn', '-vf', videoFilter(s), ...muxer, ...(output === 'pipe:1' ? [] : ['-y']), output];
}

/** Exponential backoff with ±20 % jitter: min * 2^attempt, capped at max. attempt starts at 0. */
export function backoffMs(attempt: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  const jittered = base * (0.8 + 0.4 * random());
  return Math.round(Math.max(minMs * 0.8, Math.min(maxMs, jittered)));
}

/** The first video stream ffmpeg dumps is the input's: "Stream #0:0: Video: h264 (...), yuv420p, 1920x1080, ...". */
export function parseInputVideoSize(line: string): { width: number; height: number } | null {
  const m = /^\s*Stream #\d+:\d+.*?: Video: .*?\b(\d{2,5})x(\d{2,5})\b/.exec(line);
  return m ? { width: Number(m[1]), height: Number(m[2]) } : null;
}

/** Lines of ffmpeg's informational header dump (indented, or Input/Output/Stream mapping headings): not errors. */
export function isHeaderLine(line: string): boolean {
  return /^\s/.test(line) || /^(Input #|Output #|Stream mapping:|Press \[q\])/.test(line);
}
