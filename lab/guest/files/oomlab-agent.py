#!/usr/bin/python3
"""The lab guest's agent: the node's /proc and /sys files and its kernel log, read-only, over HTTP.

GET /ping -> ok; GET /file?path=/proc/meminfo -> the file; GET /list?path=/sys/fs/cgroup -> names, one a
line; GET /dmesg -> the kernel ring buffer as dmesg prints it. Only paths that resolve under /proc or /sys.
"""
import os
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

ROOTS = ("/proc/", "/sys/")


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

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), Agent).serve_forever()
