"""A short smoke run of the benchmark command: the harness works end to end; no speed is asserted."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT


def bench_variants() -> list[str]:
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench/run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.VARIANTS)


@pytest.mark.slow
@pytest.mark.usefixtures("local_ports")  # the benchmarked system listens on name-derived ports
def test_bench_smoke_writes_a_well_formed_results_file(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench/run.py"), "--smoke", "--output", str(tmp_path)],
        capture_output=True, text=True, timeout=1200, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    results = json.loads((tmp_path / "results-smoke.json").read_text())
    assert results["mode"] == "smoke" and results["machine"]["cores"] >= 1
    assert results["ceilings"]["static_nginx"]["rps"] > 0 and results["ceilings"]["static_nginx"]["errors"] == 0
    for path in ("catalog_list_cached", "catalog_item_cached", "profile", "login"):
        for via in ("gateway", "direct"):
            measured = results["runtime"][path][via]
            assert measured["errors"] == 0, (path, via, measured)
            assert measured["requests"] > 0 and measured["p50_ms"] > 0
    chain = results["runtime"]["order_to_paid"]
    assert chain["lost"] == 0 and chain["paid"] == chain["orders"] > 0
    assert set(results["template"]["copy_seconds_median"]) == {"1", "4", "12", "30"}
    assert all(size > 0 for size in results["runtime"]["memory_idle_mb"].values())
    decisions = results["runtime"]["decisions"]
    loads = [decisions[name][load] for name in bench_variants() for load in ("catalog_item_direct", "profile_direct")]
    loads += decisions["gateway keep-alive"].values()
    assert all(load["errors"] == 0 and load["requests"] > 0 for load in loads), decisions
    assert len(decisions["json_microseconds_per_page"]) == 3
    assert "## The choices, measured" in (tmp_path / "RESULTS-smoke.md").read_text()
