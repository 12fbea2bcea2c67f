# Stands in for systemd's NOTIFY_SOCKET: binds an AF_UNIX SOCK_DGRAM socket at argv[1] and prints
# every datagram as one JSON line {"t": seconds since epoch, "text": "..."} on stdout.
import json, os, socket, sys, time

path = sys.argv[1]
if os.path.exists(path):
    os.unlink(path)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
print(json.dumps({"t": time.time(), "text": "#listening"}), flush=True)
while True:
    data = s.recv(65536)
    print(json.dumps({"t": time.time(), "text": data.decode("utf-8", "replace")}), flush=True)
