"""The whole-photo SR application: the compact network, seeded patches of a photo folder, a tiny run that
exports a release which loads alone."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from srgan_wgan.apps.photo_sr import PhotoExperiment, PhotoPatches, centre_patches, export_photo_run, load_photos
from srgan_wgan.archs import CompactSR, build_arch
from srgan_wgan.archs.compact import nearest_upscale
from srgan_wgan.errors import ConfigError, UserError
from srgan_wgan.training import GANTrainConfig
from srgan_wgan.training.sr_task import SRLossWeights


@pytest.fixture
def photo_folder(tmp_path) -> Path:
    root = tmp_path / "photos"
    root.mkdir()
    rng = np.random.default_rng(0)
    for i, (h, w) in enumerate([(40, 56), (48, 48), (64, 40), (36, 60), (52, 44), (44, 64), (20, 30)]):
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(root / f"p{i}.png")
    (root / "broken.jpg").write_text("not an image")
    return root


def test_compact_net_starts_as_nearest_upscale_and_keeps_shapes() -> None:
    net = CompactSR(scale=4, num_feat=8, num_conv=2)
    x = torch.rand(2, 3, 9, 7)
    y = net(x)
    assert y.shape == (2, 3, 36, 28)
    torch.testing.assert_close(y, nearest_upscale(x, 4))  # the last conv starts at zero
    torch.testing.assert_close(nearest_upscale(x, 3), torch.nn.functional.interpolate(x, scale_factor=3))
    rebuilt = build_arch("CompactSR", net.config_dict())
    assert isinstance(rebuilt, CompactSR) and rebuilt.scale == 4
    with pytest.raises(ConfigError):
        CompactSR(scale=8)


def test_compact_net_passes_its_input_signal_through_the_body_and_learns() -> None:
    """PyTorch's default conv init shrinks the signal ~5x per PReLU layer, so the 16-deep body's features were
    ~1e-6 at the last convolution and a 30k-step run never left the nearest upscale (issue 23)."""
    torch.manual_seed(0)
    G = CompactSR(num_feat=32, num_conv=16)
    x, y = torch.rand(2, 3, 24, 24), torch.rand(2, 3, 24, 24)
    feats = G.body[:-2](x)  # the input to the last convolution
    assert feats.std() > 0.1
    assert (feats - G.body[:-2](y)).abs().mean() > 0.1 * feats.abs().mean()  # it depends on the input
    from srgan_wgan.data.faces import make_lr

    g = torch.Generator().manual_seed(1)
    hr = torch.nn.functional.interpolate(torch.rand(4, 3, 8, 8, generator=g), size=32, mode="bilinear")  # smooth
    lr = make_lr(hr, 4)
    opt = torch.optim.Adam(G.parameters(), 1e-3)
    nearest = float((nearest_upscale(lr, 4) - hr).abs().mean())
    for _ in range(20):
        loss = (G(lr) - hr).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss) < 0.75 * nearest  # 20 steps: 0.54x here; the old init: 0.98x


def test_patches_are_seeded_and_small_or_broken_photos_are_skipped(photo_folder) -> None:
    photos = load_photos(sorted(photo_folder.iterdir()), min_size=32)
    assert len(photos.images) == 6 and len(photos.skipped) == 2  # the 20x30 photo and the broken file
    ds = PhotoPatches(photos, 32, patches_per_photo=4)
    assert len(ds) == 24
    a, sa = ds[(3, 123)]
    b, _ = ds[(3, 123)]
    c, _ = ds[(3, 124)]
    assert a.shape == (3, 32, 32) and 0 <= a.min() and a.max() <= 1 and int(sa) == 123
    assert torch.equal(a, b) and not torch.equal(a, c)
    crops = centre_patches(photos, 32)
    assert crops.images.shape == (6, 3, 32, 32)


def _tiny(data: Path, steps: int = 3, **kw) -> PhotoExperiment:
    train = GANTrainConfig(steps=steps, batch_size=4, n_critic=0, device="cpu", sample_every=steps,
                           checkpoint_every=steps, log_every=1, lr_g=1e-3, betas=(0.9, 0.99), ema_decay=0.9)
    fields = {"scale": 4, "hr_size": 32, "num_feat": 8, "num_conv": 2, "patches_per_photo": 2, "val_fraction": 0.3,
              **kw}
    return PhotoExperiment(data=str(data), train=train, **fields)


def test_tiny_photo_run_exports_a_release_that_loads_alone(photo_folder, tmp_path) -> None:
    from srgan_wgan.io.weights import load_pretrained, read_weights_metadata

    exp = _tiny(photo_folder)
    trainer = exp.build(tmp_path / "run", tensorboard=False)
    trainer.fit()
    assert trainer.step == 3
    out = trainer.export(tmp_path / "rel")
    meta = read_weights_metadata(out / "generator.safetensors")
    assert meta["arch"] == "CompactSR" and meta["extra"]["task"] == "photo_sr" and meta["extra"]["scale"] == 4
    G = load_pretrained(out / "generator.safetensors")
    assert G(torch.rand(1, 3, 10, 12)).shape == (1, 3, 40, 48)
    # the run folder alone (no data) exports the same generator
    assert export_photo_run(tmp_path / "run", tmp_path / "rel2") == 3
    a = load_pretrained(tmp_path / "rel2" / "generator.safetensors")
    x = torch.rand(1, 3, 8, 8)
    torch.testing.assert_close(a(x), G(x))


def test_same_seed_same_weights_and_bad_configs(photo_folder, tmp_path) -> None:
    w = []
    for k in range(2):
        t = _tiny(photo_folder, steps=2).build(tmp_path / f"r{k}", tensorboard=False)
        t.fit()
        w.append(torch.cat([p.detach().flatten() for p in t.G.parameters()]))
    assert torch.equal(w[0], w[1])
    with pytest.raises(ConfigError, match="photo network"):
        _tiny(photo_folder, arch="unet").validate()
    with pytest.raises(ConfigError, match="multiple of the scale"):
        _tiny(photo_folder, hr_size=30).validate()
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no images"):
        _tiny(tmp_path / "empty").build(tmp_path / "r3", tensorboard=False)
    assert SRLossWeights().l1 == 1.0


def test_sr_train_task_photo_and_export_with_onnx(photo_folder, tmp_path) -> None:
    pytest.importorskip("onnxruntime")
    from cli_inprocess import run_cli

    from srgan_wgan.io.onnx import load_onnx
    from srgan_wgan.io.weights import load_pretrained

    run = tmp_path / "run"
    out = run_cli("sr", "train", "--task", "photo", "--data", photo_folder, "--run-dir", run, "--scale", "4",
                  "--hr-size", "32", "--num-feat", "8", "--num-conv", "2", "--steps", "2", "--batch-size", "4",
                  "--patches-per-photo", "2", "--sample-every", "2", "--checkpoint-every", "2", "--device", "cpu")
    assert out.returncode == 0, out.stderr
    assert "training" in out.stderr and "photos under" in out.stderr
    r = run_cli("sr", "export", "--run-dir", run, "--out", tmp_path / "rel", "--onnx", tmp_path / "g.onnx")
    assert r.returncode == 0, r.stderr
    G = load_pretrained(tmp_path / "rel" / "generator.safetensors")
    x = torch.rand(1, 3, 12, 10)
    with torch.no_grad():
        ref = G(x)
    got = load_onnx(tmp_path / "g.onnx", expected_arch="CompactSR")(x)
    assert got.shape == (1, 3, 48, 40) and (got - ref).abs().max() < 2 / 255
    bad = run_cli("sr", "train", "--task", "photo", "--data", photo_folder, "--run-dir", tmp_path / "r2",
                  "--degrade")
    assert bad.returncode == 2 and "face options" in bad.stderr
    bad = run_cli("sr", "train", "--task", "drawings", "--data", photo_folder, "--run-dir", tmp_path / "r3")
    assert bad.returncode == 2 and "--task must be face or photo" in bad.stderr
    for flags, msg in ((["--pipeline", "--pipeline-preset", "heavy"], "unknown --pipeline-preset"),
                       (["--clean-fraction", "0.3"], "--clean-fraction goes with --pipeline"),
                       (["--pipeline", "--clean-fraction", "1.5"], "--clean-fraction must be in [0, 1]"),
                       (["--pipeline-preset", "light"], "--pipeline-preset goes with --pipeline")):
        bad = run_cli("sr", "train", "--task", "photo", "--data", photo_folder, "--run-dir", tmp_path / "r4", *flags)
        assert bad.returncode == 2 and msg in bad.stderr and not (tmp_path / "r4").exists(), flags


def test_photo_eval_pairs_and_made_lr(tmp_path) -> None:
    from srgan_wgan.apps.photo_sr.evaluate import evaluate_photo_folder, find_pairs
    from srgan_wgan.metrics import psnr

    rng = np.random.default_rng(1)
    hr = rng.integers(0, 255, (34, 42, 3), dtype=np.uint8)  # not a multiple of 4: cropped to 32 x 40
    (tmp_path / "plain").mkdir()
    Image.fromarray(hr).save(tmp_path / "plain" / "a.png")
    (tmp_path / "pairs" / "x4" / "HR").mkdir(parents=True)
    (tmp_path / "pairs" / "x4" / "LR").mkdir(parents=True)
    Image.fromarray(hr[:32, :40]).save(tmp_path / "pairs" / "x4" / "HR" / "img_001_SRF_4_HR.png")
    lr = np.asarray(Image.fromarray(hr[:32, :40]).resize((10, 8), Image.Resampling.BICUBIC))
    Image.fromarray(lr).save(tmp_path / "pairs" / "x4" / "LR" / "img_001_SRF_4_LR.png")
    assert find_pairs(tmp_path / "plain", 4)[0][1] is None
    assert find_pairs(tmp_path / "pairs", 4)[0][1].name == "img_001_SRF_4_LR.png"
    net = CompactSR(scale=4, num_feat=8, num_conv=1)  # = nearest upscale at initialisation
    out = evaluate_photo_folder(tmp_path / "pairs", net, device="cpu", fp32=True, lpips=False)
    assert out["given_lr"] and out["images"] == 1
    ref = torch.from_numpy(hr[:32, :40].astype(np.float32) / 255).permute(2, 0, 1)[None]
    near = nearest_upscale(torch.from_numpy(lr.astype(np.float32) / 255).permute(2, 0, 1)[None], 4)
    assert abs(out["mean"]["model_psnr_y"] - float(psnr(near, ref, shave=4, y_channel=True))) < 1e-4
    assert out["mean"]["bicubic_psnr_y"] > out["mean"]["model_psnr_y"]  # bicubic beats nearest
    made = evaluate_photo_folder(tmp_path / "plain", net, device="cpu", fp32=True, lpips=False)
    assert not made["given_lr"] and made["images"] == 1
    other = evaluate_photo_folder(tmp_path / "pairs", net, device="cpu", fp32=True, lpips=False,
                                  degradation="opencv-area")  # a recipe replaces the given LR
    assert not other["given_lr"] and other["degradation"] == "opencv-area"
    assert abs(other["mean"]["model_psnr_y"] - out["mean"]["model_psnr_y"]) > 0.01
    real = evaluate_photo_folder(tmp_path / "pairs", net, device="cpu", fp32=True, lpips=False,
                                 degradation="realistic:3")
    assert real["mean"]["model_psnr_y"] < out["mean"]["model_psnr_y"]  # noise, blur and JPEG cost PSNR
    with pytest.raises(UserError):
        evaluate_photo_folder(tmp_path / "pairs", net, device="cpu", lpips=False, degradation="gaussian")
    for i in range(40):  # the val split is the file-hash split sr train makes, and nothing else
        Image.fromarray(hr).save(tmp_path / "plain" / f"p{i:02d}.png")
    from srgan_wgan.data.splits import split_image_folder

    train, val = split_image_folder(tmp_path / "plain", 0.2)
    v = evaluate_photo_folder(tmp_path / "plain", net, device="cpu", fp32=True, lpips=False, split="val",
                              val_fraction=0.2)
    assert v["split"] == "val" and [r["file"] for r in v["per_image"]] == [f.name for f in val] and 0 < len(val) < 41
    with pytest.raises(UserError, match="--split"):
        evaluate_photo_folder(tmp_path / "plain", net, device="cpu", lpips=False, split="test")
    (tmp_path / "pairs" / "x4" / "LR" / "img_001_SRF_4_LR.png").unlink()
    with pytest.raises(UserError, match="no LR partner"):
        find_pairs(tmp_path / "pairs", 4)


@pytest.mark.shared
def test_sr_eval_task_photo_several_degradations_load_the_model_once(shared_dir, tmp_path, monkeypatch) -> None:
    """`sr eval --task photo --degradation A --degradation B`: one table and JSON entry per recipe, each the same as
    a run with that recipe alone, from one load of the weights (shared: LPIPS needs the AlexNet backbone)."""
    import json

    import srgan_wgan.io.weights as weights_mod
    from cli_inprocess import run_cli
    from srgan_wgan.io.weights import save_pretrained

    rng = np.random.default_rng(2)
    (tmp_path / "plain").mkdir()
    for i in range(2):
        Image.fromarray(rng.integers(0, 255, (48, 40, 3), dtype=np.uint8)).save(tmp_path / "plain" / f"{i}.png")
    save_pretrained(CompactSR(scale=4, num_feat=8, num_conv=1), tmp_path / "m" / "generator.safetensors",
                    {"scale": 4, "task": "photo_sr"})
    args = ("sr", "eval", "--task", "photo", "--data", tmp_path / "plain", "--model", tmp_path / "m", "--device",
            "cpu", "--fp32")
    loads = []
    real_load = weights_mod.load_pretrained
    monkeypatch.setattr(weights_mod, "load_pretrained", lambda *a, **k: loads.append(a) or real_load(*a, **k))
    out = run_cli(*args, "--degradation", "clean", "--degradation", "opencv-area", "--json", tmp_path / "both.json")
    assert out.returncode == 0, out.stderr
    assert len(loads) == 1
    both = json.loads((tmp_path / "both.json").read_text())["degradations"]
    assert set(both) == {"clean", "opencv-area"}
    assert both["clean"]["mean"]["model_psnr_y"] != both["opencv-area"]["mean"]["model_psnr_y"]
    out = run_cli(*args, "--degradation", "opencv-area", "--json", tmp_path / "one.json")
    assert out.returncode == 0, out.stderr
    one = json.loads((tmp_path / "one.json").read_text())
    assert one["degradation"] == "opencv-area" and one["mean"] == both["opencv-area"]["mean"]


@pytest.mark.shared
def test_sr_eval_task_photo_reproduces_the_published_bicubic_baseline(shared_dir, tmp_path) -> None:
    """Set5 x4 through `sr eval --task photo`: bicubic must give the literature's 28.42 dB PSNR-Y."""
    import json

    from cli_inprocess import run_cli
    from srgan_wgan.io.weights import save_pretrained

    set5 = shared_dir / "data" / "sr_benchmarks" / "Set5"
    if not set5.is_dir():
        pytest.skip("Set5 not in ../shared")
    save_pretrained(CompactSR(scale=4, num_feat=8, num_conv=1), tmp_path / "m" / "generator.safetensors",
                    {"scale": 4, "task": "photo_sr"})
    out = run_cli("sr", "eval", "--task", "photo", "--data", set5, "--model", tmp_path / "m", "--device", "cpu",
                  "--json", tmp_path / "r.json")
    assert out.returncode == 0, out.stderr
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["images"] == 5 and r["given_lr"]
    assert abs(r["mean"]["bicubic_psnr_y"] - 28.42) < 0.05
    assert r["mean"]["model_psnr_y"] < r["mean"]["bicubic_psnr_y"]  # the untrained net is a nearest upscale


@pytest.mark.shared
def test_shipped_photo_x4_fidelity_meets_fsrcnn_on_set5_and_set14(shared_dir) -> None:
    """The shipped benchmark model, by name, on the given x4 LR: at or above FSRCNN's published PSNR-Y (issue 23)."""
    from srgan_wgan.apps.photo_sr import resolve_photo_model
    from srgan_wgan.apps.photo_sr.evaluate import evaluate_photo_folder

    bench = shared_dir / "data" / "sr_benchmarks"
    if not (bench / "Set14").is_dir():
        pytest.skip("Set5/Set14 not in ../shared")
    for name, fsrcnn in (("Set5", 30.72), ("Set14", 27.61)):
        r = evaluate_photo_folder(bench / name, resolve_photo_model("photo-x4-fidelity"), device="cpu", lpips=False)
        assert r["given_lr"] and r["mean"]["model_psnr_y"] >= fsrcnn - 0.005, (name, r["mean"])


def test_photo_upscaler_tiles_without_seams_and_serves_as_sr_upscale_background(tmp_path, monkeypatch) -> None:
    from cli_inprocess import run_cli

    from srgan_wgan.apps.photo_sr import PhotoUpscaler
    from srgan_wgan.io.weights import save_pretrained

    torch.manual_seed(0)
    net = CompactSR(scale=4, num_feat=8, num_conv=2)
    for p in net.parameters():  # a non-trivial network (a fresh one is the nearest upscale)
        p.data.add_(torch.randn_like(p) * 0.05)
    save_pretrained(net, tmp_path / "m" / "generator.safetensors", {"scale": 4, "task": "photo_sr"})
    rgb = np.random.default_rng(0).integers(0, 256, (40, 52, 3)).astype(np.float32) / 255  # exact in a PNG
    whole = PhotoUpscaler(tmp_path / "m", device="cpu", fp32=True, tile=0).enhance(rgb)
    tiled = PhotoUpscaler(tmp_path / "m", device="cpu", fp32=True, tile=24, tile_overlap=8).enhance(rgb)
    assert whole.shape == tiled.shape == (160, 208, 3)
    # the receptive field (4 convs: 4 px) is within overlap / 2: tiles agree with the whole image everywhere
    assert np.abs(whole - tiled).max() < 1 / 255
    up = PhotoUpscaler(tmp_path / "m", device="cpu", fp32=True)
    assert up(rgb, 2).shape == (80, 104, 3) and up.tile_overlap == 8  # twice the receptive radius (2 + 2)
    auto = PhotoUpscaler(tmp_path / "m", device="cpu", fp32=True, tile=20).enhance(rgb)  # raised to 24
    assert PhotoUpscaler(tmp_path / "m", device="cpu", tile=20).tile == 24
    assert np.abs(whole - auto).max() < 1 / 255
    Image.fromarray(np.round(rgb * 255).astype(np.uint8)).save(tmp_path / "in.png")
    out = run_cli("sr", "upscale", tmp_path / "in.png", "-o", tmp_path / "out.png", "--background", tmp_path / "m",
                  "--device", "cpu", "--fp32")
    assert out.returncode == 0, out.stderr
    got = np.asarray(Image.open(tmp_path / "out.png"), dtype=np.float32) / 255
    ref = np.round(np.clip(whole, 0, 1) * 255) / 255
    assert got.shape == (160, 208, 3) and np.abs(got - ref).max() <= 1 / 255 + 1e-6  # no faces: all background
    monkeypatch.setattr("srgan_wgan.apps.photo_sr.inference.PLANNED_PHOTO_MODELS", ("photo-x2",))
    bad = run_cli("sr", "upscale", tmp_path / "in.png", "-o", tmp_path / "o2.png", "--background", "photo-x2")
    assert bad.returncode == 2 and "not shipped yet" in bad.stderr
    bad = run_cli("sr", "upscale", tmp_path / "in.png", "-o", tmp_path / "o3.png", "--background", "nope")
    assert bad.returncode == 2 and "unknown photo model" in bad.stderr
    assert "lanczos" in bad.stderr and "photo-x4-fidelity" in bad.stderr  # the valid names are listed


def _photo_release_and_my_photos(photo_folder: Path, tmp_path: Path) -> tuple[Path, Path]:
    from cli_inprocess import run_cli

    run = tmp_path / "run"
    out = run_cli("sr", "train", "--task", "photo", "--data", photo_folder, "--run-dir", run, "--scale", "4",
                  "--hr-size", "32", "--num-feat", "8", "--num-conv", "2", "--steps", "2", "--batch-size", "4",
                  "--patches-per-photo", "2", "--checkpoint-every", "2", "--device", "cpu")
    assert out.returncode == 0, out.stderr
    mine = tmp_path / "mine"
    mine.mkdir()
    rng = np.random.default_rng(5)
    for i in range(24):
        Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(mine / f"m{i}.png")
    return run / "export", mine


def test_photo_finetune_experiment_keeps_the_releases_network_and_refuses_bad_sources(photo_folder, tmp_path
                                                                                      ) -> None:
    from cli_inprocess import run_cli

    from srgan_wgan.apps.photo_sr import photo_finetune_experiment

    release, mine = _photo_release_and_my_photos(photo_folder, tmp_path)
    exp = photo_finetune_experiment(release, str(mine), 4, recipe="pipeline")
    assert (exp.arch, exp.num_feat, exp.num_conv, exp.hr_size, exp.stage) == ("compact", 8, 2, 32, "fidelity")
    assert exp.pipeline is not None and exp.init_from == str(release)
    assert photo_finetune_experiment(release, str(mine), 4).pipeline is None  # trained on clean LR: kept
    from srgan_wgan.apps.photo_sr import resolve_photo_model
    from srgan_wgan.data.degradations import DegradationConfig

    shipped = photo_finetune_experiment(resolve_photo_model("photo-x4").parent, str(mine), 4)
    assert shipped.stage == "gan" and shipped.pipeline == replace(DegradationConfig.light(), clean_prob=0.3)
    assert shipped.losses == SRLossWeights(1.0, 0.02, 0.1)  # the shipped model's own LR recipe and loss weights
    few = run_cli("sr", "finetune", "--from", release, "--data", photo_folder, "--run-dir", tmp_path / "ft3",
                  "--device", "cpu")
    assert few.returncode == 2 and "too few photos" in few.stderr
    with pytest.raises(UserError, match="not a photo SR release"):  # a face SRResNet release is refused
        photo_finetune_experiment(Path(__file__).parents[1] / "weights" / "face-x4-fidelity", str(mine), 4)


@pytest.mark.shared
def test_sr_finetune_from_a_photo_release_keeps_the_best_weights(photo_folder, tmp_path, shared_dir) -> None:
    from cli_inprocess import run_cli

    from srgan_wgan.io.weights import load_pretrained

    release, mine = _photo_release_and_my_photos(photo_folder, tmp_path)
    ft = run_cli("sr", "finetune", "--from", release, "--data", mine, "--steps", "4", "--eval-every", "2",
                 "--batch-size", "4", "--run-dir", tmp_path / "ft", "--device", "cpu")
    assert ft.returncode == 0, ft.stderr
    text = ft.stdout + ft.stderr
    assert "photo x4, fidelity" in text and "best validation LPIPS-alex" in text
    G = load_pretrained(tmp_path / "ft" / "best" / "generator.safetensors")
    assert type(G).__name__ == "CompactSR" and G.weights_metadata["extra"]["task"] == "photo_sr"
