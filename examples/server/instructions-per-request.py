#!/usr/bin/env python3
"""Instructions the server executes per request, by route (BENCHMARKS.md,
"The example server under wrk"): the per-request overhead of a plugin route
over the built-in one, in a figure that does not depend on what else the
machine runs.

Run from the repository root after `./run-example.sh --build-only`, with
valgrind installed:

    python3 examples/server/instructions-per-request.py

It starts target/example/staticdl-server serving target/example/plugins
(`--poll-ms 0`: no rescans of the directory inside the measured window)
under `valgrind --tool=callgrind --trace-children=yes`, once with
`--workers 0` (the threaded process is measured) and once with `--workers 1`
(the worker process is measured). For each route it sends 100 requests to
warm up, zeroes the process's counters (`callgrind_control -z`), sends 1,000
requests on one keep-alive connection, dumps the counters
(`callgrind_control -d`) and divides the instructions (Ir, user space only:
the kernel's work for the same reads and writes is not counted) by 1,000.
"""
import glob
import http.client
import json
import os
import signal
import subprocess
import tempfile
import time

ROOT = os.getcwd()
SERVER = os.path.join(ROOT, "target/example/staticdl-server")
PLUGINS = os.path.join(ROOT, "target/example/plugins")
PORT = 18095
ROUTES = [("GET", "/builtin/ping", None), ("GET", "/hello", None),
          ("GET", "/hello/fail", None), ("GET", "/counter", None),
          ("POST", "/counter", b"1"), ("GET", "/echo", None),
          ("POST", "/echo", b"ping"), ("GET", "/echo/stats", None),
          ("GET", "/echo/panic", None)]
COUNT = 1000


def requests(method, path, body, n):
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
    for _ in range(n):
        conn.request(method, path, body=body)
        conn.getresponse().read()
    conn.close()


def control(flag, pid):
    subprocess.run(["callgrind_control", flag, str(pid)], check=True,
                   capture_output=True)


def measure(pid, workdir, method, path, body):
    requests(method, path, body, 100)
    control("-z", pid)
    requests(method, path, body, COUNT)
    before = set(glob.glob(f"{workdir}/callgrind.out.{pid}.*"))
    control("-d", pid)
    deadline = time.time() + 60
    while True:
        new = set(glob.glob(f"{workdir}/callgrind.out.{pid}.*")) - before
        if new:
            dump = new.pop()
            time.sleep(0.5)  # let it be written
            with open(dump) as f:
                for line in f:
                    if line.startswith("totals:"):
                        return int(line.split()[1]) / COUNT
        if time.time() > deadline:
            raise RuntimeError("no callgrind dump")
        time.sleep(0.1)


def main():
    for mode in (["--workers", "0"], ["--workers", "1"]):
        workdir = tempfile.mkdtemp(prefix="callgrind.")
        server = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--trace-children=yes", SERVER,
             "--listen", f"127.0.0.1:{PORT}", "--plugins", PLUGINS,
             "--poll-ms", "0", "--log-level", "error", *mode],
            cwd=workdir, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 120
            while True:
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
                    conn.request("GET", "/builtin/workers")
                    report = json.loads(conn.getresponse().read())
                    break
                except (OSError, ValueError):
                    if time.time() > deadline:
                        raise
                    time.sleep(0.5)
            pid = report.get("this_pid", server.pid)
            # Only the server started here (or its worker), never another one
            # that happened to hold the port.
            if server.poll() is not None:
                raise RuntimeError(f"the server exited ({server.returncode})")
            with open(f"/proc/{pid}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
            if server.pid not in (pid, parent):
                raise RuntimeError(f"process {pid} answering on port {PORT} is not ours")
            print(f"## {' '.join(mode)} (instructions per request, process {pid})")
            print("| route | instructions | over GET /builtin/ping |")
            print("| --- | ---: | ---: |")
            base = None
            for method, path, body in ROUTES:
                ir = measure(pid, workdir, method, path, body)
                base = ir if base is None else base
                print(f"| {method} {path} | {ir:,.0f} | {ir - base:+,.0f} |", flush=True)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait()


if __name__ == "__main__":
    main()
