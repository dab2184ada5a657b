"""The command line: entry points, one-line errors with exit code 2 and nothing written, a tiny real run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from cli_inprocess import sub_command


cli = sub_command()  # the CLI in this process (tests/cli_inprocess.py)


@pytest.fixture
def styles(tmp_path) -> Path:
    root = tmp_path / "paintings"
    rng = np.random.default_rng(0)
    for style, n in (("Ukiyo_e", 5), ("Pop_Art", 3)):
        (root / style).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(rng.integers(0, 255, (20, 24, 3), dtype=np.uint8)).save(root / style / f"{i}.png")
    (root / "Pop_Art" / "broken.jpg").write_text("not an image")
    return root


def test_entry_points_and_help() -> None:
    out = cli("sr", "version")
    assert out.returncode == 0 and "srgan-wgan" in out.stdout + out.stderr
    out = cli("paint", "train", "--help")
    assert out.returncode == 0 and "--penalty" in out.stdout
    out = subprocess.run([sys.executable, "-m", "srgan_wgan_cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "paint" in out.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "{missing}"], "data folder not found"),
        (["--data", "{empty}"], "has no sub-folders"),
        (["--data", "{styles}", "--penalty", "wgan"], "unknown penalty 'wgan'"),
        (["--data", "{styles}", "--penalty", "clip", "--penalty-weight", "10"], "takes no penalty weight"),
        (["--data", "{styles}", "--critic-norm", "batch"], "BatchNorm critic"),
        (["--data", "{styles}", "--critic-norm", "weird"], "unknown critic norm"),
        (["--data", "{styles}", "--resolution", "48"], "power of two"),
        (["--data", "{styles}", "--device", "cuda:7"], "cuda"),
    ],
)
def test_bad_input_is_one_line_exit_2_nothing_written(tmp_path, styles, args, message) -> None:
    (tmp_path / "empty").mkdir()
    fill = {"missing": tmp_path / "missing", "empty": tmp_path / "empty", "styles": styles}
    run_dir = tmp_path / "run"
    out = cli("paint", "train", *[a.format(**fill) for a in args], "--run-dir", str(run_dir), "--steps", "1")
    if message == "cuda" and out.returncode == 0:  # pragma: no cover - machine with 8 GPUs
        pytest.skip("cuda:7 exists here")
    assert out.returncode == 2, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], out.stderr
    assert "Traceback" not in out.stderr
    assert not run_dir.exists()


def test_paint_train_tiny_run_and_refuses_to_clobber(tmp_path, styles) -> None:
    run_dir = tmp_path / "run"
    args = ["paint", "train", "--data", str(styles), "--run-dir", str(run_dir), "--steps", "2", "--batch-size", "4",
            "--resolution", "16", "--base-channels", "8", "--n-critic", "1", "--device", "cpu",
            "--sample-every", "1", "--checkpoint-every", "1"]
    out = cli(*args)
    assert out.returncode == 0, out.stderr
    assert "2 styles" in out.stdout + out.stderr
    assert "1 unreadable image(s) skipped" in out.stderr.replace("\n", " ")
    assert (run_dir / "export" / "generator.safetensors").exists()
    from srgan_wgan.io.weights import read_weights_metadata

    meta = read_weights_metadata(run_dir / "export" / "generator.safetensors")
    assert meta["extra"]["class_counts"] == {"Pop_Art": 3, "Ukiyo_e": 5}
    again = cli(*args)
    assert again.returncode == 2 and "--resume" in again.stderr
    resumed = cli(*[a if a != "2" else "3" for a in args], "--resume")
    assert resumed.returncode == 0, resumed.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "{missing}"], "data folder not found"),
        (["--data", "{empty}"], "no images"),
        (["--data", "{styles}", "--scale", "3"], "scale must be one of"),
        (["--data", "{styles}", "--stage", "sharp"], "unknown stage"),
        (["--data", "{styles}", "--stage", "gan", "--penalty", "clip", "--penalty-weight", "1"], "no penalty weight"),
        (["--data", "{styles}", "--hr-size", "100"], "multiple of the scale"),
    ],
)
def test_sr_train_bad_input(tmp_path, styles, args, message) -> None:
    (tmp_path / "empty").mkdir()
    fill = {"missing": tmp_path / "missing", "empty": tmp_path / "empty", "styles": styles}
    run_dir = tmp_path / "run"
    out = cli("sr", "train", *[a.format(**fill) for a in args], "--run-dir", str(run_dir), "--steps", "1")
    assert out.returncode == 2, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], out.stderr
    assert not run_dir.exists()


@pytest.mark.shared
def test_sr_eval_reports_model_and_bicubic(tmp_path, styles, shared_dir) -> None:
    import json

    import torch

    from srgan_wgan.archs import SRResNet
    from srgan_wgan.io.weights import save_pretrained

    torch.manual_seed(0)
    save_pretrained(SRResNet(scale=4, num_feat=8, num_blocks=1), tmp_path / "m" / "generator.safetensors",
                    {"scale": 4, "hr_size": 64})
    out = cli("sr", "eval", "--data", str(styles), "--model", str(tmp_path / "m"), "--hr-size", "64",
              "--json", str(tmp_path / "r.json"), "--device", "cpu")
    assert out.returncode == 0, out.stderr
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["scale"] == 4 and r["bicubic"]["images"] == 8 and r["model"]["psnr_y"] < r["bicubic"]["psnr_y"]


@pytest.mark.shared
def test_sr_eval_scores_each_lr_recipe(tmp_path, styles, shared_dir) -> None:
    import json

    import torch

    from srgan_wgan.archs import SRResNet
    from srgan_wgan.io.weights import save_pretrained

    torch.manual_seed(0)
    save_pretrained(SRResNet(scale=1, num_feat=8, num_blocks=1, unshuffle=4), tmp_path / "r" / "generator.safetensors",
                    {"scale": 1, "hr_size": 64, "task": "face_restore"})
    out = cli("sr", "eval", "--data", str(styles), "--model", str(tmp_path / "r"), "--degradation", "clean",
              "--degradation", "realistic:3", "--degradation", "opencv-area", "--json", str(tmp_path / "r.json"),
              "--device", "cpu", "--no-identity")
    assert out.returncode == 0, out.stderr
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["hr_size"] == 64 and r["degradation"] == "clean"  # the model's own size when --hr-size is not given
    assert list(r["degradations"]) == ["clean", "realistic:3", "opencv-area"]
    inputs = {k: v["bicubic"]["psnr_y"] for k, v in r["degradations"].items()}
    assert len(set(inputs.values())) == 3 and inputs["realistic:3"] < inputs["clean"]  # three different LR sets
    bad = cli("sr", "eval", "--data", str(styles), "--model", str(tmp_path / "r"), "--degradation", "jpeg")
    assert bad.returncode != 0 and "--degradation must be one of" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.shared
def test_sr_eval_split_matches_training_split(tmp_path, styles, shared_dir) -> None:
    import json

    from srgan_wgan.archs import SRResNet
    from srgan_wgan.data.splits import split_by_hash
    from srgan_wgan.data.folders import scan_images
    from srgan_wgan.io.weights import save_pretrained

    save_pretrained(SRResNet(scale=4, num_feat=8, num_blocks=1), tmp_path / "m" / "generator.safetensors",
                    {"scale": 4, "hr_size": 64})
    fraction = next(f for f in (0.3, 0.5, 0.7, 0.9) if all(split_by_hash(scan_images(styles), f)))
    counts = {}
    for split in ("all", "val", "train"):
        out = cli("sr", "eval", "--data", str(styles), "--model", str(tmp_path / "m"), "--hr-size", "64",
                  "--split", split, "--val-fraction", str(fraction), "--json", str(tmp_path / f"{split}.json"),
                  "--device", "cpu")
        assert out.returncode == 0, out.stderr
        r = json.loads((tmp_path / f"{split}.json").read_text())
        assert r["split"] == split
        counts[split] = r["model"]["images"]
    # the two halves partition the folder (the fixture holds one unreadable file, skipped wherever it falls)
    assert counts["val"] > 0 and counts["train"] > 0 and counts["val"] + counts["train"] == counts["all"]
    out = cli("sr", "eval", "--data", str(styles), "--model", str(tmp_path / "m"), "--split", "test")
    assert out.returncode != 0 and "--split" in out.stderr
