"""`make bench-api` end to end with a tiny load: every figure is printed with its goal, reference and ratios.

Structure only: tests never assert timings.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from bench.api import Latencies
from local.dataplane import REPO_ROOT

NUMBER = r"[0-9]+(?:\.[0-9]+)?"
RATIOS = rf"vs reference {NUMBER}x  vs baseline {NUMBER}x"


def test_percentiles_are_nearest_rank() -> None:
    ten = Latencies(tuple(float(v) for v in (10, 1, 9, 2, 8, 3, 7, 4, 6, 5)))
    assert (ten.p50, ten.p95, ten.p99, ten.pct(10), ten.pct(0)) == (5.0, 10.0, 10.0, 1.0, 1.0)
    three_hundred = Latencies(tuple(float(v) for v in range(1, 301)))
    assert (three_hundred.p50, three_hundred.p95, three_hundred.p99) == (150.0, 285.0, 297.0)
    assert Latencies((4.0,)).p95 == 4.0


@pytest.mark.edge
@pytest.mark.slow
def test_bench_api_prints_every_figure_beside_its_reference_and_baseline() -> None:
    result = subprocess.run(
        [
            *(sys.executable, "-m", "bench.api", "--duration", "1", "--rate", "10", "--warm-iterations", "5"),
            *("--cold-runs", "1", "--containers", "1"),
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    expected = [
        rf"^baseline edge SELECT 1 \(api identity, same client\)  p50 +{NUMBER} ms  p95 +{NUMBER} ms  \(n=5\)$",
        rf"^warm price handler in-process   p50 +{NUMBER} ms  p95 +{NUMBER} ms  goal p95 <= 10 ms  "
        rf"reference p95 25 ms  {RATIOS}$",
        rf"^warm ohlcv handler in-process   p50 +{NUMBER} ms  p95 +{NUMBER} ms  goal p95 <= 10 ms  "
        rf"reference p95 25 ms  {RATIOS}$",
        rf"^load 10 req/s x 1 s over HTTP, 1 containers  p50 +{NUMBER} ms  p95 +{NUMBER} ms  p99 +{NUMBER} ms  "
        rf"errors 0/10  offered {NUMBER} req/s  served {NUMBER} req/s  goal p95 <= 25 ms, 0 errors  "
        rf"reference p95 49 ms \(98 % cache hits; here 0 %\)  {RATIOS}$",
        r"^load statuses \{200: 10\}$",
        rf"^cold import \+ init of the handler +{NUMBER} ms  goal <= 300 ms  reference ~370 ms  {RATIOS} "
        rf"\(bare library imports {NUMBER} ms\)$",
        rf"^cold first request \(local runtime: edge client with its first TLS handshake, then GET /health\) +"
        rf"{NUMBER} ms  status 200  vs baseline {NUMBER}x \(edge SELECT 1 p95\)$",
    ]
    for pattern in expected:
        assert re.search(pattern, out, re.M), f"missing /{pattern}/ in:\n{out}"
    # Every request of the load was answered as its probe was: 200, counted, no error lines.
    assert "load error:" not in out
