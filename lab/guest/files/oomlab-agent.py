#!/usr/bin/python3
"""The lab guest's agent: the node's /proc and /sys files and its kernel log, read-only, over HTTP.

GET /ping -> ok; GET /file?path=/proc/meminfo -> the file; GET /list?path=/sys/fs/cgroup -> names, one a
line; GET /dmesg -> the kernel ring buffer as dmesg prints it. Only paths that resolve under /proc or /sys.

POST /hold?mib=N, once per boot: a process named oomlab-ballast holds N MiB of anonymous memory until the VM
stops, at oom_score_adj -1000 so the kernel never picks it. It stands for what production's machine held
beside the server (a Kubernetes node's control plane), so a global OOM comes at production's size.
"""
import os
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

ROOTS = ("/proc/", "/sys/")
PAGE = 4096
held = []


def hold(mib):
    """The ballast's own process: protect it from the OOM killer, touch every page, report, then sleep."""
    with open("/proc/self/oom_score_adj", "w") as adj:
        adj.write("-1000")
    with open("/proc/self/comm", "w") as comm:
        comm.write("oomlab-ballast")
    ballast = bytearray(mib * 1024 * 1024)
    # Written, not only allocated: an untouched page is no memory at all.
    for offset in range(0, len(ballast), PAGE):
        ballast[offset] = 1
    sys.stdout.write("held %d\n" % mib)
    sys.stdout.flush()
    while True:
        time.sleep(3600)


def allowed(path):
    real = os.path.realpath(path)
    return any(real.startswith(root) for root in ROOTS) and any(os.path.normpath(path).startswith(root) for root in ROOTS)


class Agent(BaseHTTPRequestHandler):
    def reply(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urlparse(self.path)
        path = parse_qs(url.query).get("path", [""])[0]
        if url.path == "/ping":
            return self.reply(200, b"ok\n")
        if url.path == "/dmesg":
            done = subprocess.run(["dmesg"], capture_output=True, timeout=10)
            return self.reply(200 if done.returncode == 0 else 500, done.stdout + done.stderr)
        if url.path in ("/file", "/list"):
            if not allowed(path):
                return self.reply(403, b"only paths under /proc and /sys\n")
            try:
                if url.path == "/list":
                    return self.reply(200, "".join(name + "\n" for name in sorted(os.listdir(path))).encode())
                with open(path, "rb") as file:
                    return self.reply(200, file.read())
            except FileNotFoundError:
                return self.reply(404, b"no such file\n")
            except OSError as error:
                return self.reply(500, (str(error) + "\n").encode())
        return self.reply(404, b"unknown endpoint\n")

    def do_POST(self):
        url = urlparse(self.path)
        if url.path != "/hold":
            return self.reply(404, b"unknown endpoint\n")
        mib = parse_qs(url.query).get("mib", [""])[0]
        if not mib.isdigit() or int(mib) < 1:
            return self.reply(400, b"mib takes a positive whole number\n")
        if held:
            return self.reply(409, ("a ballast of %d MiB is held already\n" % held[0]).encode())
        child = subprocess.Popen([sys.executable, __file__, "--hold", mib], stdout=subprocess.PIPE)
        line = child.stdout.readline().decode().strip()
        if line != "held " + mib:
            child.kill()
            return self.reply(500, ("the ballast did not hold %s MiB (exit %s)\n" % (mib, child.wait())).encode())
        held.append(int(mib))
        return self.reply(200, (line + "\n").encode())

    def log_message(self, *args):
        pass


if sys.argv[1] == "--hold":
    hold(int(sys.argv[2]))
else:
    ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), Agent).serve_forever()
