#!/usr/bin/python3
"""A small RTSP server for tests: serves H.264 mp4 files, looping forever, without re-encoding.

Run with Debian's Python (python3-gi lives there):

    /usr/bin/python3 test/helpers/rtsp_server.py --port 8554 --mount /cam1=models/demo/demo.mp4

Prints ``READY <port>`` on stdout (flushed) once the server listens on 127.0.0.1:<port>.
SIGTERM / SIGINT stop it cleanly (exit code 0). SIGSTOP / SIGCONT / SIGKILL behave as for any
process, which is what tests use to simulate a frozen or dead camera.

Pipeline per mount (one shared media per mount, so every client sees the same stream):

    filesrc ! qtdemux ! h264parse config-interval=-1 ! rtph264pay name=pay0 pt=96 config-interval=-1

Looping: the media does a FLUSH|SEGMENT seek to 0 when prepared and a (non-flushing) SEGMENT seek
to 0 on every SEGMENT_DONE, so no EOS ever reaches the clients; do_query_stop returns False so the
server does not report (and act on) the file's end as the stream's stop position. Timestamps keep
running across the loop at the clip's frame rate (see LoopingMedia._close_gap): a 2 s clip at 10 fps
gives pts 0.0 ... 1.9, 2.0 ... 3.9, ... with a keyframe at every loop start.

Late clients: the media is made non-seekable (see LoopingFactory), so a client that connects while
the stream is running joins it where it is, like a live camera: it gets frames from the next
keyframe on (at most one GOP later), and the clients already connected see no jump.
"""
import argparse
import os
import signal
import sys
import time

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstRtspServer', '1.0')
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

# Before any subclass is defined: registering a Python subclass of RTSPMedia looks up its signals'
# types (GstMessage among them), which exist only after Gst.init.
Gst.init(None)


def log(msg: str) -> None:
    # Never let a closed stderr (parent gone) raise into a GLib callback: that would, for one,
    # keep the SIGTERM handler from stopping the main loop.
    try:
        print(f'rtsp_server[{os.getpid()}]: {msg}', file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


class LoopingMedia(GstRtspServer.RTSPMedia):
    """RTSPMedia that restarts its file at the end instead of sending EOS."""

    def _pay0(self):
        element = self.get_element()
        return element.get_by_name('pay0') if element is not None else None

    def _seek(self, flags) -> bool:
        pay = self._pay0()
        if pay is None:
            log('no pay0 element to seek on')
            return False
        ok = pay.seek(1.0, Gst.Format.TIME, flags,
                      Gst.SeekType.SET, 0, Gst.SeekType.NONE, -1)
        if not ok:
            log(f'seek {flags} failed')
        return ok

    def _close_gap(self, message):
        """Keep timestamps running on across the loop.

        The next loop's running time starts where the last frame of this one *starts* (qtdemux's
        position), not where the clip ends: the last frame and the next loop's first frame would
        get the same timestamp, every loop (receivers see a non-monotonic step and drop a frame,
        and the stream runs one frame per loop faster than real time). Shift pay0's input by the
        difference (one frame duration) before the next loop starts; qtdemux is paused after
        SEGMENT_DONE until our seek, so no buffer sees a half-applied shift.
        """
        pay = self._pay0()
        if pay is None:
            return
        _fmt, end = message.parse_segment_done()
        ok, last = pay.query_position(Gst.Format.TIME)
        gap = end - last if ok else 0
        if 0 < gap < Gst.SECOND:
            self._offset = getattr(self, '_offset', 0) + gap
            pay.get_static_pad('sink').set_offset(self._offset)

    def _wait_for_segment(self, timeout_s=2.0):
        """Wait until the segment after our flushing seek has reached rtpbin's send_rtp_sink.

        The flush clears the sticky SEGMENT event there, and a client's PLAY reads it
        (gst_rtsp_media_get_rates): if PLAY comes in between, gst-rtsp-server 1.22 aborts the
        whole process ("rtsp-media.c:2766:gst_rtsp_media_get_rates: assertion failed: (FALSE)",
        SIGABRT). Seen in about one test run in three, with two clients connecting at once to
        fresh media. The segment arrives within a few ms; do_prepared runs before the server
        answers DESCRIBE, so waiting here keeps PLAY behind it.
        """
        pay = self._pay0()
        peer = pay.get_static_pad('src').get_peer() if pay is not None else None
        # pay0 sits in a bin: follow the ghost pad out to rtpbin's send_rtp_sink.
        while isinstance(peer, Gst.ProxyPad) and isinstance(peer.get_parent(), Gst.GhostPad):
            peer = peer.get_parent().get_peer()
        if peer is None:
            log('pay0 is not linked')
            return
        deadline = time.monotonic() + timeout_s
        while peer.get_sticky_event(Gst.EventType.SEGMENT, 0) is None:
            if time.monotonic() > deadline:
                log(f'no segment on {peer.get_name()} {timeout_s} s after the first seek')
                return
            time.sleep(0.002)

    def do_prepared(self):
        # Loop: qtdemux ends a SEGMENT seek with SEGMENT_DONE (handled below) instead of EOS.
        self._seek(Gst.SeekFlags.FLUSH | Gst.SeekFlags.SEGMENT)
        self._wait_for_segment()

    def do_handle_message(self, message):
        if message.type == Gst.MessageType.SEGMENT_DONE:
            self._close_gap(message)
            self._seek(Gst.SeekFlags.SEGMENT)
            return True
        return GstRtspServer.RTSPMedia.do_handle_message(self, message)

    def do_query_stop(self, stop):
        # gst-rtsp-server 1.22's introspection passes `stop` (a gint64*) in rather than treating it
        # as an out value, so it cannot be set from Python. Returning False means "stop position
        # unknown": the server then does not tell clients (Range: npt=0-<duration>) that the stream
        # ends at the file's end.
        return False


class LoopingFactory(GstRtspServer.RTSPMediaFactory):
    def __init__(self, path: str):
        super().__init__()
        loc = path.replace('\\', '\\\\').replace('"', '\\"')
        self.set_launch(
            f'( filesrc location="{loc}" ! qtdemux ! h264parse config-interval=-1 '
            f'! rtph264pay name=pay0 pt=96 config-interval=-1 )')
        self.set_shared(True)
        # Make the media non-seekable. ffmpeg sends `Range: npt=0.000-` with PLAY; for a client
        # that joins while the media plays, gst-rtsp-server 1.22 turns that into a plain FLUSH
        # seek to 0 (rtsp-media.c, gst_rtsp_media_seek_trickmode): the clip restarts for everyone
        # and, lacking the SEGMENT flag, ends with EOS, which cuts every client off at the clip's
        # end. For a non-seekable media the server skips that seek and still answers PLAY with
        # 200 OK; our own seeks go to pay0 directly and are not affected. CLOCK_AND_OFFSET is the
        # one public switch that makes a media non-seekable (rtsp-media.c, check_seekable). Other
        # effects: two SDP lines (a=ts-refclk:local, a=mediaclk:sender) that ffmpeg ignores, and
        # RTSP PAUSE is refused (no test client pauses). Things that did not work from Python:
        # removing the Range header in a pre-play-request handler (ctx.request is a copy),
        # answering the SEEKING query in a pad probe (the query is not writable there), and
        # seek_full() in do_prepared (refused: "pipeline is not complete" before SETUP).
        self.set_publish_clock_mode(GstRtspServer.RTSPPublishClockMode.CLOCK_AND_OFFSET)
        self.set_media_gtype(LoopingMedia)


def parse_mount(spec: str):
    if '=' not in spec:
        raise argparse.ArgumentTypeError(f'--mount wants /name=path/to/file.mp4, got {spec!r}')
    mount, path = spec.split('=', 1)
    if not mount.startswith('/') or len(mount) < 2:
        raise argparse.ArgumentTypeError(f'mount point must start with "/": {mount!r}')
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise argparse.ArgumentTypeError(f'no such file: {path}')
    return mount, path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--port', type=int, required=True, help='TCP port on 127.0.0.1 (0 = any free port)')
    ap.add_argument('--mount', type=parse_mount, action='append', required=True,
                    help='/name=path/to/file.mp4 (repeatable)')
    args = ap.parse_args()

    loop = GLib.MainLoop()

    server = GstRtspServer.RTSPServer()
    server.set_address('127.0.0.1')
    server.set_service(str(args.port))
    mounts = server.get_mount_points()
    for mount, path in args.mount:
        mounts.add_factory(mount, LoopingFactory(path))
        log(f'{mount} -> {path}')

    # Create and bind the listening socket now, so a port clash is an error, not a silent no-op.
    try:
        source = server.create_source(None)
    except GLib.Error as e:
        log(f'cannot listen on 127.0.0.1:{args.port}: {e.message}')
        return 2
    source.attach(None)
    port = server.get_bound_port()

    def stop(signum):
        loop.quit()
        log(f'signal {signum}, stopping')
        return GLib.SOURCE_REMOVE

    for signum in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_HIGH, signum, stop, signum)

    try:
        print(f'READY {port}', flush=True)
    except OSError:
        return 1  # nobody is listening
    loop.run()

    # Close the listening socket and drop the clients.
    source.destroy()
    pool = server.get_session_pool()
    if pool is not None:
        pool.cleanup()
    return 0


if __name__ == '__main__':
    sys.exit(main())
