#!/usr/bin/python3
"""A minimal RTSP server for tests (GStreamer's RTSP server through python3-gi): serves a live
H.264 test pattern (videotestsrc, 320x240 @ 10 fps) at rtsp://127.0.0.1:<port>/cam1, forever.
Prints the port on stdout once it listens. Run with /usr/bin/python3."""
import sys

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstRtspServer', '1.0')
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

Gst.init(None)
server = GstRtspServer.RTSPServer()
server.set_address('127.0.0.1')
server.set_service('0')
factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch('( videotestsrc is-live=true pattern=smpte ! video/x-raw,width=320,height=240,framerate=10/1 '
                   '! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=10 bitrate=300 '
                   '! rtph264pay name=pay0 pt=96 config-interval=1 )')
factory.set_shared(True)
server.get_mount_points().add_factory('/cam1', factory)
server.attach(None)
print(server.get_bound_port(), flush=True)
try:
    GLib.MainLoop().run()
except KeyboardInterrupt:
    sys.exit(0)
