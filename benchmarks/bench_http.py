"""HTTP sink speed (issue 13): `telematics generate --out http://...` end to end, beside a
plain http.client loop posting the same bytes, to the same local server, in the same run.

    python benchmarks/bench_http.py                       # 2M events, batches of 5,000, 3 runs
    python benchmarks/bench_http.py --events 500000 --runs 1

The server is a separate process (a ThreadingHTTPServer that reads each body and answers
200), so it does not share a GIL with either client. synthkit runs as the real CLI, timed
end to end (start-up, kernels, generation, encoding, requests). The baseline posts the JSON
lines synthkit writes to a file for the same seed, cut into the same 5,000-line bodies, over
one kept-alive connection: the limit of the transport, with nothing generated.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
SERVER = r"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass

server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H)
print("ready", flush=True)
server.serve_forever()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def baseline(port: int, bodies: list[bytes], events: int) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    started = time.perf_counter()
    for body in bodies:
        conn.request(
            "POST",
            "/telematics/ingest",
            body=body,
            headers={"Content-Type": "application/x-ndjson"},
        )
        conn.getresponse().read()
    elapsed = time.perf_counter() - started
    conn.close()
    return events / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        url = f"http://127.0.0.1:{port}/telematics/ingest"
        common = [
            "telematics",
            "generate",
            "--events",
            str(args.events),
            "--drivers",
            "1000",
            "--seed",
            "7",
        ]
        with tempfile.TemporaryDirectory() as tmp:
            lines_file = Path(tmp) / "e.jsonl"
            subprocess.run(
                [str(BIN / "synthkit"), *common, "--out", str(lines_file)],
                check=True,
                capture_output=True,
            )
            lines = lines_file.read_bytes().splitlines(keepends=True)
        bodies = [b"".join(lines[i : i + args.batch]) for i in range(0, len(lines), args.batch)]
        del lines
        ours, plain = [], []
        for _ in range(args.runs):
            started = time.perf_counter()
            proc = subprocess.run(
                [
                    str(BIN / "synthkit"),
                    *common,
                    "--out",
                    url,
                    "--sink-option",
                    f"batch_size={args.batch}",
                ],
                capture_output=True,
                text=True,
            )
            elapsed = time.perf_counter() - started
            if proc.returncode != 0:
                sys.exit(proc.stderr)
            assert json.loads(proc.stdout)["outcomes"] == {"stored:HTTP_200": args.events}
            ours.append(args.events / elapsed)
            plain.append(baseline(port, bodies, args.events))
    finally:
        server.terminate()
        server.wait()
    best, limit = max(ours), max(plain)
    print(
        json.dumps(
            {
                "case": f"http_{args.events}_batch{args.batch}",
                "synthkit_events_per_s_best": round(best),
                "synthkit_events_per_s_median": round(sorted(ours)[len(ours) // 2]),
                "baseline_http_client_events_per_s_best": round(limit),
                "ratio_to_plain_loop": round(best / limit, 3),
                "bar_events_per_s": 50_000,
                "meets_bar": best >= 50_000,
            }
        )
    )


if __name__ == "__main__":
    main()
