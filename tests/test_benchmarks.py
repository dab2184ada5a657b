"""Smoke runs of the benchmark entry points (tiny sizes): they must keep working; timings are not asserted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def test_train_and_infer_benchmarks_smoke(tmp_path, capsys) -> None:
    """Runs on a fresh machine (no ImageNet backbones: random ones, labelled as such in the JSON)."""
    from benchmarks.run import main

    result = main(["--device", "cpu", "--smoke", "--out", str(tmp_path / "b.json")])
    rows = result["rows"]
    train = [r for r in rows if "ms_per_step" in r]
    assert {r["row"] for r in train} == {"face SR fidelity step", "face SR GAN step", "paint step"}
    for row in ("face SR GAN step", "paint step"):
        names = [r["variant"] for r in train if r["row"] == row]
        assert names[:2] == ["baseline", "default"]
        assert {"bf16 autocast", "channels_last", "lazy penalty k=4", "1 thread"} <= set(names)
    by = {(r["row"], r["variant"]): r for r in rows}
    assert by[("face SR GAN step", "baseline")]["precision"] == "fp32"
    assert by[("face SR GAN step", "baseline")]["speedup_vs_baseline"] == 1.0
    assert by[("face SR GAN step", "bf16 autocast")]["precision"] == "bf16"
    assert all(r["ms_per_step"] > 0 for r in train)
    infer = [r for r in rows if "s_per_item" in r]
    assert {r["row"].split(",")[0].split(" (")[0] for r in infer} >= {"sr upscale --aligned", "sr upscale",
                                                                      "paint generate"}
    saved = json.loads((tmp_path / "b.json").read_text())
    assert saved["meta"]["smoke"] is True and "random weights" in saved["meta"]["backbones"]
    assert saved["meta"]["device"]["model"] and "flags" in saved["meta"]["device"]
    table = capsys.readouterr().out
    assert "| face SR GAN step |" in table and "| work | baseline | default |" in table


def test_penalty_benchmark_smoke(tmp_path, capsys) -> None:
    pytest.importorskip("sklearn")
    from benchmarks.penalties import main

    rows = main(["--penalties", "gp", "clip", "--seeds", "0", "--steps", "3", "--out", str(tmp_path / "p.json"),
                 "--figure-dir", str(tmp_path)])
    assert [r["penalty"] for r in rows] == ["gp", "clip"]
    assert (tmp_path / "digits_comparison.png").exists()
    assert "| gp | adam" in capsys.readouterr().out


def test_photo_network_benchmark_smoke(tmp_path) -> None:
    from benchmarks.photo_networks import bench

    row = bench("tiny", {"arch": "compact", "num_feat": 8, "num_conv": 1}, steps=1, tile=32, tmp=tmp_path)
    assert row["train_step_ms"] > 0 and row["tile_ms"] > 0 and row["params"] > 0


def test_large_photo_memory_benchmark_smoke() -> None:
    pytest.importorskip("skimage")
    from benchmarks.large_photo_memory import run

    out = run([48], ["lanczos", "compact-untrained"], 4, ".png")
    assert [r["background"] for r in out["rows"]] == ["lanczos", "compact-untrained"]
    assert all(r["output_px"] == 192 and r["seconds"] > 0 and 0.05 < r["peak_rss_gib"] < 8 for r in out["rows"])


@pytest.mark.shared
def test_critic_speed_benchmark_smoke(shared_dir) -> None:
    from benchmarks.critic_speed import critics, time_step

    D = critics(32, 3)["projected alexnet"]
    assert time_step(D, 32, True, repeat=1, batch=2, classes=3) > 0


def test_photo_sr_figures_smoke(tmp_path) -> None:
    """The README figure script: crops at the most detailed place, one column per model, the HR last."""
    import numpy as np
    import torch
    from PIL import Image

    from benchmarks.photo_sr_figures import LABEL, bench_figure, detail_box, photo_figure
    from srgan_wgan.archs import CompactSR
    from srgan_wgan.io.weights import save_pretrained

    rng = np.random.default_rng(0)
    hr = np.full((96, 128, 3), 128, np.uint8)
    hr[32:64, 80:112] = rng.integers(0, 256, (32, 32, 3))  # the only texture
    assert detail_box(Image.fromarray(hr), 32) == (80, 32, 112, 64)
    for sub in ("HR", "LR"):
        (tmp_path / "b" / sub).mkdir(parents=True)
    Image.fromarray(hr).save(tmp_path / "b" / "HR" / "a_HR.png")
    Image.fromarray(hr).resize((32, 24), Image.Resampling.BICUBIC).save(tmp_path / "b" / "LR" / "a_LR.png")
    torch.manual_seed(0)
    save_pretrained(CompactSR(scale=4, num_feat=8, num_conv=1), tmp_path / "m" / "generator.safetensors",
                    {"scale": 4, "task": "photo_sr"})
    bench_figure([str(tmp_path / "m")], tmp_path / "b", tmp_path / "bench.png", n=1, crop=32, side=32)
    fig = np.asarray(Image.open(tmp_path / "bench.png"))
    assert fig.shape == (LABEL + 32, 4 * 32, 3)
    np.testing.assert_array_equal(fig[LABEL:, 96:], hr[32:64, 80:112])  # the HR column, uncut
    np.testing.assert_array_equal(fig[LABEL:, 64:96], fig[LABEL:, :32])  # a fresh net = nearest: the same place
    edge = np.full((90, 100, 3), 128, np.uint8)
    edge[-30:, -30:] = rng.integers(0, 256, (30, 30, 3))
    assert detail_box(Image.fromarray(edge), 32) == (68, 58, 100, 90)  # flush with the far edges
    Image.fromarray(hr).save(tmp_path / "photo.png")
    photo_figure([str(tmp_path / "m")], None, tmp_path / "photo.png", tmp_path / "photo_fig.png", cell=64)
    assert np.asarray(Image.open(tmp_path / "photo_fig.png")).shape == (LABEL + 64, 3 * 64, 3)


def test_photo_network_quality_smoke(tmp_path) -> None:
    """--quality-steps: each network trained briefly on a folder and scored per benchmark folder."""
    import numpy as np
    from PIL import Image

    from benchmarks.photo_networks import quality, recipe_settings

    recipe = recipe_settings(Path(__file__).parents[1] / "configs" / "photo-x4-fidelity.toml")
    assert recipe["batch_size"] == 16 and recipe["hr_size"] == 128  # the shipped recipe's values, read from its file
    recipe = {**recipe, "batch_size": 2}
    rng = np.random.default_rng(0)
    (tmp_path / "photos").mkdir()
    (tmp_path / "Set1").mkdir()
    for i in range(12):
        Image.fromarray(rng.integers(0, 256, (140, 150, 3), dtype=np.uint8)).save(tmp_path / "photos" / f"{i}.png")
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(tmp_path / "Set1" / "a.png")
    out = quality("compact 8x1", {"arch": "compact", "num_feat": 8, "num_conv": 1}, 2, tmp_path / "photos",
                  [tmp_path / "Set1"], tmp_path, None, recipe)
    assert out["quality_steps"] == 2 and set(out["Set1"]) == {"psnr_y", "bicubic_psnr_y"}
    assert 0 < out["Set1"]["psnr_y"] < 60
