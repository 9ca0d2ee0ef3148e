#!/usr/bin/env python3
"""The server's wrk figures in BENCHMARKS.md ("The example server under wrk").

Run from the repository root after `./run-example.sh --build-only`:

    python3 examples/server/wrk-figures.py

For the threaded mode (--workers 0) and for --workers 2, it starts
target/example/staticdl-server on 127.0.0.1:18090 serving
target/example/plugins (--log-level error), warms it up with 3 s of wrk, then
runs `wrk -t1 -c2 -d30s --latency` on the built-in ping and on every route of
the example plugins but /echo/slow (a sleep), then /builtin/ping on 8
connections. POST requests use a wrk Lua script setting the method and a body
("1" for /counter, "ping" for /echo). For each run it also reads the CPU time
(user + system) that the server's processes (the one threaded process, or the
supervisor and its live workers) used during the run, from /proc/PID/stat, and
divides it by the requests wrk counted: that figure hardly depends on what
else the machine runs, unlike requests per second. One Markdown table row per
run is printed: command, requests/s, p50, p99, server CPU per request, non-2xx
answers, socket errors.
"""
import os
import re
import signal
import subprocess
import tempfile
import time

SERVER = "target/example/staticdl-server"
PLUGINS = "target/example/plugins"
URL = "http://127.0.0.1:18090"
TICK = os.sysconf("SC_CLK_TCK")
ROUTES = [("GET", "/builtin/ping"), ("GET", "/hello"), ("GET", "/hello/fail"),
          ("GET", "/counter"), ("POST", "/counter"), ("GET", "/echo"),
          ("POST", "/echo"), ("GET", "/echo/stats"), ("GET", "/echo/panic")]
BODIES = {"/counter": "1", "/echo": "ping"}


def ticks(pid):
    """utime + stime of process `pid`."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12]), int(fields[1])


def server_ticks(pid):
    """CPU ticks of `pid` and of its live children (the workers)."""
    total = ticks(pid)[0]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                own, parent = ticks(entry)
            except (OSError, IndexError, ValueError):
                continue
            if parent == pid:
                total += own
    return total


def run(pid, method, path, conns, scripts):
    cmd = ["wrk", "-t1", f"-c{conns}", "-d30s", "--latency"]
    if method == "POST":
        cmd += ["-s", scripts[path]]
    cmd.append(URL + path)
    before = server_ticks(pid)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    used = server_ticks(pid) - before
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    # The latency distribution's own lines (not a "95.99%" of the stdev column).
    p50 = re.search(r"^\s+50%\s+(\S+)$", out, re.M).group(1)
    p99 = re.search(r"^\s+99%\s+(\S+)$", out, re.M).group(1)
    errors = re.search(r"Socket errors:.*", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    cpu_us = used / TICK * 1e6 / requests
    print(f"| {' '.join(cmd)} | {rps:.0f} | {p50} | {p99} | {cpu_us:.1f} | "
          f"{non2xx.group(1) if non2xx else 0} | {errors.group(0) if errors else 'none'} |",
          flush=True)


def main():
    scripts = {}
    tmp = tempfile.mkdtemp(prefix="wrk-figures.")
    for path, body in BODIES.items():
        scripts[path] = os.path.join(tmp, f"post{path.replace('/', '-')}.lua")
        with open(scripts[path], "w") as f:
            f.write(f'wrk.method = "POST"\nwrk.body = "{body}"\n')
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(), flush=True)
    for mode in (["--workers", "0"], ["--workers", "2"]):
        server = subprocess.Popen(
            [SERVER, "--listen", "127.0.0.1:18090", "--plugins", PLUGINS,
             "--log-level", "error", *mode], stderr=subprocess.DEVNULL)
        try:
            time.sleep(2)
            subprocess.run(["wrk", "-t1", "-c2", "-d3s", URL + "/builtin/ping"],
                           capture_output=True, check=True)
            print(f"## {' '.join(mode)}", flush=True)
            for method, path in ROUTES:
                run(server.pid, method, path, 2, scripts)
            run(server.pid, "GET", "/builtin/ping", 8, scripts)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait()
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(), flush=True)


if __name__ == "__main__":
    main()
