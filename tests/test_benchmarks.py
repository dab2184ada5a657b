"""Smoke runs of the benchmark entry points (tiny sizes): they must keep working; timings are not asserted."""

from __future__ import annotations

import json

import pytest


def test_train_and_infer_benchmarks_smoke(tmp_path) -> None:
    from benchmarks.run import main

    train = main(["--suite", "train", "--device", "cpu", "--smoke", "--steps", "1", "--warmup", "1",
                  "--out", str(tmp_path / "t.json")])
    names = [r["variant"] for r in train["rows"]]
    assert names[:2] == ["baseline", "default"] and "lazy penalty k=4" in names
    assert all(r["ms_per_step"] > 0 and r["speedup_vs_baseline"] > 0 for r in train["rows"])
    assert train["rows"][0]["speedup_vs_baseline"] == 1.0
    infer = main(["--suite", "infer", "--device", "cpu", "--smoke", "--out", str(tmp_path / "i.json")])
    tasks = {r["task"] for r in infer["rows"]}
    assert tasks == {"sr upscale --aligned", "sr upscale (photo)", "paint generate"}
    assert json.loads((tmp_path / "i.json").read_text())["meta"]["smoke"] is True


def test_penalty_benchmark_smoke(tmp_path, capsys) -> None:
    pytest.importorskip("sklearn")
    from benchmarks.penalties import main

    rows = main(["--penalties", "gp", "clip", "--seeds", "0", "--steps", "3", "--out", str(tmp_path / "p.json"),
                 "--figure-dir", str(tmp_path)])
    assert [r["penalty"] for r in rows] == ["gp", "clip"]
    assert (tmp_path / "digits_comparison.png").exists()
    assert "| gp | adam" in capsys.readouterr().out
