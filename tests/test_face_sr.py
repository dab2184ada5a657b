"""Face SR building blocks: generator, degradation, metrics, splits, training stages, perceptual losses."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from srgan_wgan.apps.face_sr import SRExperiment, SRLossWeights, evaluate_sr
from srgan_wgan.archs import SRResNet
from srgan_wgan.data.faces import bicubic_upscale, make_lr
from srgan_wgan.data.splits import split_by_hash
from srgan_wgan.errors import ConfigError, UserError
from srgan_wgan.metrics import psnr, rgb_to_y, ssim
from srgan_wgan.training import GANTrainConfig


@pytest.mark.parametrize("scale", [4, 8])
def test_generator_shapes_and_no_interpolation(scale: int, monkeypatch) -> None:
    G = SRResNet(scale=scale, num_feat=16, num_blocks=2)

    def forbidden(*a, **k):
        raise AssertionError("the generator must not interpolate")

    monkeypatch.setattr(F, "interpolate", forbidden)
    out = G(torch.rand(2, 3, 128 // scale, 96 // scale))
    assert out.shape == (2, 3, 128, 96)


def test_psnr_ssim_and_luma_against_hand_values() -> None:
    x = torch.full((1, 3, 16, 16), 0.5)
    y = x + 10 / 255
    assert psnr(x, y).item() == pytest.approx(20 * math.log10(255 / 10), abs=0.05)
    assert rgb_to_y(torch.ones(1, 3, 1, 1)).item() == pytest.approx(235 / 255, abs=1e-4)
    assert rgb_to_y(torch.zeros(1, 3, 1, 1)).item() == pytest.approx(16 / 255, abs=1e-6)
    img = torch.rand(2, 3, 32, 32)
    assert ssim(img, img).min().item() == pytest.approx(1.0, abs=1e-4)
    assert ssim(img, torch.rand(2, 3, 32, 32)).max().item() < 0.2
    # shaving: a corrupted border does not count
    z = img.clone()
    z[..., :4, :] = 0
    assert psnr(z, img, shave=4).min().item() > 90


def test_degradation_and_bicubic_baseline() -> None:
    flat = torch.full((1, 3, 64, 64), 0.3)
    lr = make_lr(flat, 8)
    assert lr.shape == (1, 3, 8, 8)
    torch.testing.assert_close(bicubic_upscale(lr, 8), flat, atol=1e-5, rtol=0)
    xs = torch.linspace(0, 1, 64)
    smooth = (xs[None, :] * xs[:, None]).expand(1, 3, 64, 64).contiguous()
    assert psnr(bicubic_upscale(make_lr(smooth, 4), 4), smooth, shave=4).item() > 40


def test_split_by_hash_is_deterministic_disjoint_and_stable() -> None:
    files = [Path(f"img_{i}.jpg") for i in range(2000)]
    train, val = split_by_hash(files, 0.1)
    assert set(train).isdisjoint(val) and len(train) + len(val) == 2000
    assert 150 < len(val) < 250
    train2, val2 = split_by_hash(files + [Path("new.jpg")], 0.1)
    assert set(val) <= set(val2) and set(train) <= set(train2)


@pytest.fixture(scope="module")
def face_folder(tmp_path_factory) -> Path:
    """Smooth synthetic 'faces' (blobs) so that a few steps of training are measurable."""
    root = tmp_path_factory.mktemp("faces")
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:40, 0:40] / 40.0
    for i in range(24):
        cx, cy, r = rng.uniform(0.3, 0.7, 3)
        img = np.stack([np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (0.05 + 0.1 * r)) * c for c in rng.uniform(0.3, 1, 3)], -1)
        Image.fromarray((img * 255).astype(np.uint8)).save(root / f"f{i}.png")
    (root / "sub").mkdir()
    Image.fromarray(np.full((40, 40, 3), 128, np.uint8)).save(root / "sub" / "grey.webp")
    return root


def small_experiment(data: Path, stage: str = "fidelity", steps: int = 30, **kw) -> SRExperiment:
    train = GANTrainConfig(n_critic=1 if stage == "gan" else 0, batch_size=4, steps=steps, lr_g=1e-3,
                           betas=(0.9, 0.99), ema_decay=0.0, device="cpu", amp="off", log_every=5,
                           sample_every=steps, checkpoint_every=steps)
    return SRExperiment(data=str(data), scale=kw.pop("scale", 4), stage=stage, hr_size=32, val_fraction=0.2, num_feat=16,
                        num_blocks=2, critic_channels=8, train=train, **kw)


def test_fidelity_stage_learns(tmp_path, face_folder) -> None:
    exp = small_experiment(face_folder)
    trainer = exp.build(tmp_path / "run", tensorboard=False)
    assert len(trainer.dataset) + trainer.task.val_hr.shape[0] >= 25  # recursive scan found sub/grey.webp
    trainer.fit()
    l1 = [json.loads(line)["gen/l1"] for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert l1[-1] < 0.5 * l1[0]
    assert list((tmp_path / "run" / "samples").glob("*.png"))
    out = trainer.export()
    from srgan_wgan.io.weights import load_pretrained

    G = load_pretrained(out / "generator.safetensors", expected_arch="SRResNet")
    assert G.weights_metadata["extra"]["scale"] == 4


def test_invalid_sr_configs(face_folder) -> None:
    with pytest.raises(ConfigError, match="stage"):
        small_experiment(face_folder, stage="pretty").validate()
    with pytest.raises(ConfigError, match="scale"):
        SRExperiment(data=str(face_folder), scale=3).validate()
    with pytest.raises(ConfigError, match="multiple of the scale"):
        SRExperiment(data=str(face_folder), scale=8, hr_size=36).validate()
    with pytest.raises(UserError, match="not found"):
        SRExperiment(data="/nonexistent/faces").load_data()
    with pytest.raises(ConfigError, match="crop fractions"):
        small_experiment(face_folder, extra_crop_fractions=(0.8, 1.5)).validate()


def test_extra_crop_fractions_add_tighter_framings_of_the_training_faces(face_folder) -> None:
    from srgan_wgan.data.faces import centre_crop_resize, read_rgb

    base_train, base_val = small_experiment(face_folder).load_data()
    train, val = small_experiment(face_folder, extra_crop_fractions=(0.6,)).load_data()
    n = base_train.images.shape[0]
    assert train.images.shape[0] == 2 * n and train.files == base_train.files * 2
    assert torch.equal(train.images[:n], base_train.images) and torch.equal(val.images, base_val.images)
    tight = centre_crop_resize(read_rgb(Path(base_train.files[0])), 32, 0.6)
    assert torch.equal(train.images[n], torch.from_numpy(np.array(tight)).permute(2, 0, 1))
    assert not torch.equal(train.images[n], train.images[0])


@pytest.mark.shared
def test_gan_stage_from_fidelity_weights(tmp_path, face_folder, shared_dir) -> None:
    fid = small_experiment(face_folder, steps=2).build(tmp_path / "fid", tensorboard=False)
    fid.fit()
    fid_out = fid.export()
    exp = small_experiment(face_folder, stage="gan", steps=2, init_from=str(fid_out),
                           losses=SRLossWeights(l1=1.0, perceptual=0.1, lpips=0.1))
    gan = exp.build(tmp_path / "gan", tensorboard=False)
    for k, v in fid.G.state_dict().items():
        assert torch.equal(gan.G.state_dict()[k], v)
    metrics = gan.fit()
    assert {"gen/l1", "gen/perceptual", "gen/lpips", "gen/adv", "critic/w_estimate"} <= set(metrics)
    assert all(math.isfinite(v) for v in metrics.values())
    # mismatched init (other width) is a clear error
    bad = small_experiment(face_folder, stage="gan", init_from=str(fid_out))
    bad.num_feat = 8
    with pytest.raises(UserError, match="does not fit this run"):
        bad.build(tmp_path / "bad", tensorboard=False)


@pytest.mark.shared
def test_lpips_and_vgg_use_the_real_imagenet_backbones(shared_dir) -> None:
    from srgan_wgan.losses.perceptual import LPIPS, VGGPerceptualLoss

    lp = LPIPS("alex")
    ref = torch.load(shared_dir / "weights/backbones/alexnet_features.pth", weights_only=True)
    torch.testing.assert_close(lp.model.net.slice1[0].weight, ref["features.0.weight"])
    img = torch.rand(1, 3, 64, 64)
    xs = torch.linspace(0, 1, 64)
    smooth = torch.stack([xs[None, :] * xs[:, None], xs[None, :].expand(64, 64), xs[:, None].expand(64, 64)])[None]
    blur = bicubic_upscale(make_lr(smooth, 2), 2)
    assert lp(smooth, smooth).item() == pytest.approx(0.0, abs=1e-6)
    assert lp(smooth, blur).item() < lp(smooth, img).item()
    vgg = VGGPerceptualLoss()
    assert vgg(smooth, smooth).item() == 0.0 and vgg(blur, smooth).item() < vgg(img, smooth).item()


@pytest.mark.shared
def test_one_vgg_pass_gives_the_lpips_package_distance_and_pre_activation_perceptual(shared_dir) -> None:
    """VGGFeatureLosses reads the perceptual and LPIPS-vgg terms from one VGG16 pass per image: its LPIPS equals the
    lpips package's (whose input scaling is ImageNet normalisation), and its perceptual features are the conv
    outputs before the ReLU (negative values kept), which torchvision's in-place ReLU would otherwise overwrite."""
    from srgan_wgan.archs.backbones import IMAGENET_MEAN, IMAGENET_STD
    from srgan_wgan.losses.perceptual import LPIPS, VGG16_CONV_INDEX, VGGFeatureLosses

    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(2, 3, 48, 48, generator=g), torch.rand(2, 3, 48, 48, generator=g)
    fused = VGGFeatureLosses()
    perceptual, distance = fused(x, y)
    torch.testing.assert_close(distance, LPIPS("vgg")(x, y), rtol=1e-4, atol=1e-6)
    mean, std = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    feats = fused._feats(x)
    ref, h = {}, (x - mean) / std
    for i, layer in enumerate(fused.features):
        h = torch.relu(h) if isinstance(layer, torch.nn.ReLU) else layer(h)
        ref[i] = h
    for name in ("conv3_3", "conv4_3", "conv5_3"):
        i = VGG16_CONV_INDEX[name]
        torch.testing.assert_close(feats[i], ref[i])
        assert (feats[i] < 0).any()  # before the activation
    want = {"conv3_3": 0.25, "conv4_3": 0.5, "conv5_3": 1.0}
    h_y = fused._feats(y)
    expect = sum(w * torch.nn.functional.l1_loss(feats[VGG16_CONV_INDEX[k]], h_y[VGG16_CONV_INDEX[k]])
                 for k, w in want.items())
    torch.testing.assert_close(perceptual, expect)
    only, none = VGGFeatureLosses(lpips=False)(x, y)
    assert none is None and torch.allclose(only, perceptual)
    loss = perceptual + distance.sum()
    x.requires_grad_(True)
    p2, d2 = fused(x, y)
    (p2 + d2.sum()).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0 and torch.isfinite(loss)


def test_lpips_distance_matches_the_lpips_package_formula() -> None:
    """The fp32 LPIPS head on given features: unit-normalise over channels, weighted squared difference, spatial
    mean, summed over layers, as lpips.LPIPS.forward does (no backbone needed)."""
    import lpips as lpips_pkg

    from srgan_wgan.losses.perceptual import lpips_distance

    g = torch.Generator().manual_seed(1)
    f0 = [torch.randn(3, c, s, s, generator=g) for c, s in ((4, 8), (6, 4))]
    f1 = [torch.randn(3, c, s, s, generator=g) for c, s in ((4, 8), (6, 4))]
    lins = torch.nn.ModuleList([lpips_pkg.NetLinLayer(c) for c in (4, 6)])
    for lin in lins:
        torch.nn.init.uniform_(lin.model[-1].weight, 0, 1, generator=g)
    want = sum(lpips_pkg.spatial_average(lin((lpips_pkg.normalize_tensor(a) - lpips_pkg.normalize_tensor(b)) ** 2))
               for a, b, lin in zip(f0, f1, lins)).flatten()
    torch.testing.assert_close(lpips_distance(f0, f1, lins), want)
    assert torch.equal(lpips_distance(f0, f0, lins), torch.zeros(3))


def test_lr_recipes_of_sr_eval_are_seeded_per_face_and_differ() -> None:
    from srgan_wgan.apps.face_sr.evaluate import degraded_inputs, parse_degradation
    from srgan_wgan.errors import UserError

    hr = torch.rand(6, 3, 64, 64)
    clean, ref = degraded_inputs(hr, 4, "clean")
    pil, _ = degraded_inputs(hr, 4, "pil-bicubic")
    area, _ = degraded_inputs(hr, 4, "opencv-area")
    assert clean.shape == pil.shape == area.shape == (6, 3, 16, 16) and ref is hr
    assert (clean - pil).abs().mean() > 1e-3 and (pil - area).abs().mean() > 1e-3
    real, _ = degraded_inputs(hr, 4, "realistic:5")
    assert real.shape == (6, 3, 16, 16)
    again, _ = degraded_inputs(hr[2:], 4, "realistic:5", start=2)  # the draw follows the face, not the batch
    assert torch.equal(again, real[2:]) and not torch.equal(degraded_inputs(hr, 4, "realistic:6")[0], real)
    restore, _ = degraded_inputs(hr, 1, "opencv-area")  # a restoration model: shrunk 4x, back at the HR size
    assert restore.shape == hr.shape and (restore - hr).abs().mean() > 1e-3
    assert parse_degradation("realistic") == ("realistic", 0)
    for bad in ("jpeg", "clean:3", "realistic:x"):
        with pytest.raises(UserError, match="--degradation"):
            parse_degradation(bad)


def test_colour_shift_sees_a_tint_but_not_noise() -> None:
    from srgan_wgan.apps.face_sr.evaluate import colour_shift

    ref = torch.rand(2, 3, 64, 64) * 0.5 + 0.25
    noisy = (ref + torch.randn_like(ref) * 0.05).clamp(0, 1)
    tinted = (ref + torch.tensor([0.06, 0.0, -0.06]).view(1, 3, 1, 1)).clamp(0, 1)
    assert colour_shift(ref, ref).max() < 1e-4
    assert colour_shift(noisy, ref).mean() < 2.3 < 5.0 < colour_shift(tinted, ref).mean()  # 2.3: a just-noticeable step


def test_finetuning_keeps_the_lr_recipe_of_the_weights(tmp_path) -> None:
    from dataclasses import asdict

    from srgan_wgan.apps.face_sr.evaluate import validation_recipes
    from srgan_wgan.apps.face_sr.experiment import SRTask, finetune_experiment, lr_recipe
    from srgan_wgan.archs import SRResNet
    from srgan_wgan.data.degradations import DegradationConfig
    from srgan_wgan.errors import UserError
    from srgan_wgan.io.weights import save_pretrained

    random_kernel = SRExperiment(data="x", scale=4, pipeline=DegradationConfig.random_kernel())
    extra = SRTask(4, SRLossWeights(), asdict(random_kernel)).release_extra()
    assert extra["lr_recipe"] == "random-kernel"
    assert "lr_recipe" not in SRTask(4, SRLossWeights(), asdict(SRExperiment(data="x", scale=4))).release_extra()
    assert lr_recipe(asdict(SRExperiment(data="x", scale=4, pipeline=DegradationConfig()))) == "pipeline"
    save_pretrained(SRResNet(scale=4, num_feat=8, num_blocks=1), tmp_path / "k" / "generator.safetensors", extra)
    exp = finetune_experiment(tmp_path / "k", "faces/", 10)
    assert exp.pipeline == DegradationConfig.random_kernel()
    assert validation_recipes(exp) == ("clean", "pil-bicubic", "opencv-area")
    assert finetune_experiment(tmp_path / "k", "faces/", 10, recipe="clean").pipeline is None
    save_pretrained(SRResNet(scale=1, num_feat=8, num_blocks=1, unshuffle=4), tmp_path / "r" / "generator.safetensors",
                    {"scale": 1, "hr_size": 64, "task": "face_restore", "stage": "fidelity"})
    restore = finetune_experiment(tmp_path / "r", "faces/", 10)  # weights from before lr_recipe was recorded
    restore.validate()
    assert restore.pipeline == DegradationConfig() and validation_recipes(restore) == ("realistic",)
    with pytest.raises(UserError, match="LR recipe"):
        finetune_experiment(tmp_path / "k", "faces/", 10, recipe="jpeg")


def test_finetuning_keeps_the_pipeline_ranges_and_loss_weights_of_a_gan_release(tmp_path) -> None:
    from dataclasses import asdict, replace

    from srgan_wgan.apps.face_sr.experiment import SRTask, finetune_experiment
    from srgan_wgan.archs import SRResNet
    from srgan_wgan.data.degradations import DegradationConfig
    from srgan_wgan.io.weights import save_pretrained

    light = replace(DegradationConfig.light(), clean_prob=0.3)
    losses = SRLossWeights(1.0, 0.02, 0.05)
    gan = SRExperiment(data="x", scale=4, stage="gan", pipeline=light, losses=losses)
    extra = SRTask(4, losses, asdict(gan)).release_extra()
    assert extra["lr_recipe"] == "pipeline" and extra["losses"] == asdict(losses)
    save_pretrained(SRResNet(scale=4, num_feat=8, num_blocks=1), tmp_path / "g" / "generator.safetensors", extra)
    exp = finetune_experiment(tmp_path / "g", "faces/", 10)
    assert exp.pipeline == light != DegradationConfig() and exp.losses == losses
    # a fidelity release fine-tuned as a GAN gets the default GAN weights; fidelity stays L1 only
    fid = SRTask(4, SRLossWeights(), asdict(SRExperiment(data="x", scale=4))).release_extra()
    assert "losses" not in fid and "pipeline" not in fid
    save_pretrained(SRResNet(scale=4, num_feat=8, num_blocks=1), tmp_path / "f" / "generator.safetensors", fid)
    assert finetune_experiment(tmp_path / "f", "faces/", 10, stage="gan").losses == SRLossWeights(1.0, 0.1, 0.1)
    assert finetune_experiment(tmp_path / "f", "faces/", 10).losses == SRLossWeights(1.0, 0.0, 0.0)


@pytest.mark.shared
def test_evaluate_sr_reports_bicubic_baseline(shared_dir) -> None:
    files = sorted((shared_dir / "data/faces/lfw/images").glob("*"))[:4]
    from srgan_wgan.data.faces import load_face_crops

    crops = load_face_crops(files, 128, 128 / 250)
    r = evaluate_sr(None, crops.images, 8)
    assert 18 < r["psnr_y"] < 35 and 0.05 < r["lpips_alex"] < 0.9 and r["images"] == 4


@pytest.mark.shared
def test_finetune_continues_from_weights_with_early_stopping(tmp_path, face_folder, shared_dir) -> None:
    from srgan_wgan.apps.face_sr import EarlyStopping, finetune_experiment

    base = small_experiment(face_folder, steps=3).build(tmp_path / "base", tensorboard=False)
    base.fit()
    src = base.export(tmp_path / "release")
    exp = finetune_experiment(src, str(face_folder), steps=6, device="cpu", amp="off", batch_size=4,
                              checkpoint_every=2, sample_every=2, log_every=1)
    assert (exp.scale, exp.num_feat, exp.stage) == (4, 16, "fidelity")
    trainer = exp.build(tmp_path / "ft", tensorboard=False)
    for k, v in base.G.state_dict().items():
        assert torch.equal(trainer.G.state_dict()[k], v)
    _, val = exp.load_data()
    stopper = EarlyStopping(trainer, val, exp.scale, tmp_path / "ft" / "best", every=2, patience=1)
    stopper.best = -1.0  # nothing can beat this: the first evaluation already exhausts the patience
    trainer.callback = stopper
    trainer.fit()
    assert trainer.step == 2 and trainer.stop_requested and len(stopper.history) == 1
    stopper.best, stopper.bad, trainer.stop_requested = float("inf"), 0, False
    trainer.fit()
    assert (tmp_path / "ft" / "best" / "generator.safetensors").exists()


def test_a_random_kernel_run_records_its_recipe_in_the_release(tmp_path, face_folder) -> None:
    from srgan_wgan.apps.face_sr import finetune_experiment
    from srgan_wgan.data.degradations import DegradationConfig
    from srgan_wgan.io.weights import read_weights_metadata

    trainer = small_experiment(face_folder, steps=2, pipeline=DegradationConfig.random_kernel()).build(
        tmp_path / "run", tensorboard=False)
    hr = trainer.task.val_hr[:4]
    lr = trainer.task.validation_lr(hr)
    assert lr.shape[-1] == 8 and not torch.equal(lr, make_lr(hr, 4))  # another resizer than kornia's for some
    trainer.fit()
    src = trainer.export(tmp_path / "release")
    assert read_weights_metadata(src / "generator.safetensors")["extra"]["lr_recipe"] == "random-kernel"
    assert finetune_experiment(src, str(face_folder), steps=2).pipeline == DegradationConfig.random_kernel()


def test_degradations_are_seeded_and_change_the_lr() -> None:
    from srgan_wgan.data.faces import Degradations, degrade_lr

    hr = torch.rand(6, 3, 32, 32)
    seeds = torch.arange(6) * 7919
    a = degrade_lr(hr, 4, seeds, Degradations(p=1.0))
    b = degrade_lr(hr, 4, seeds, Degradations(p=1.0))
    assert a.shape == (6, 3, 8, 8) and torch.equal(a, b)
    assert (a - make_lr(hr, 4)).abs().mean() > 0.01
    off = degrade_lr(hr, 4, seeds, Degradations(p=0.0))
    torch.testing.assert_close(off, make_lr(hr, 4))


def test_export_run_rebuilds_release_weights_from_a_run_folder(tmp_path, face_folder) -> None:
    from dataclasses import asdict

    from srgan_wgan.apps.face_sr import export_run
    from srgan_wgan.data.faces import Degradations
    from srgan_wgan.io.weights import load_pretrained

    exp = small_experiment(face_folder, steps=2)
    exp.degradations = Degradations()
    trainer = exp.build(tmp_path / "run", tensorboard=False)
    trainer.fit()
    (tmp_path / "run" / "experiment.json").write_text(json.dumps(asdict(exp), default=list))
    assert export_run(tmp_path / "run", tmp_path / "out") == 2
    G = load_pretrained(tmp_path / "out" / "generator.safetensors")
    for k, v in trainer.G.state_dict().items():
        assert torch.equal(G.state_dict()[k], v)  # no EMA in the small experiment: EMA file = raw generator


def test_restoration_mode_trains_same_size_on_seeded_random_degradations(tmp_path, face_folder) -> None:
    """``scale=1``: the face-restore model. Inputs come from the Real-ESRGAN/GFPGAN pipeline, one degradation per
    sample seed (the same batch twice gives the same inputs, other seeds other inputs); the generator returns the
    working size; the run folder round-trips through ``experiment.json`` to release weights."""
    from dataclasses import asdict

    from srgan_wgan.apps.face_sr import export_run
    from srgan_wgan.data.degradations import DegradationConfig
    from srgan_wgan.io.weights import load_pretrained, read_weights_metadata

    exp = small_experiment(face_folder, steps=2, scale=1, pipeline=DegradationConfig())
    trainer = exp.build(tmp_path / "run", tensorboard=False)
    hr = trainer.dataset.crops.images[:4].float() / 255
    batch = (hr, torch.tensor([11, 12, 13, 14]))
    real, lr = trainer.task.prepare(batch, torch.device("cpu"))
    assert lr.shape == real.shape == hr.shape
    assert torch.equal(lr, trainer.task.prepare(batch, torch.device("cpu"))[1])
    other = trainer.task.prepare((hr, torch.tensor([21, 22, 23, 24])), torch.device("cpu"))[1]
    assert not torch.equal(lr, other)
    assert (lr - real).abs().mean() > 0.01  # degraded, not a copy
    assert trainer.G(lr).shape == lr.shape
    trainer.fit()
    (tmp_path / "run" / "experiment.json").write_text(json.dumps(asdict(exp), default=list))
    assert export_run(tmp_path / "run", tmp_path / "out") == 2
    meta = read_weights_metadata(tmp_path / "out" / "generator.safetensors")
    assert meta["extra"]["task"] == "face_restore" and meta["config"]["unshuffle"] == 4
    G = load_pretrained(tmp_path / "out" / "generator.safetensors")
    assert G(torch.rand(1, 3, 36, 44)).shape == (1, 3, 36, 44)
    # the GAN stage from it: the critic is conditioned on the degraded input at the same size
    gan = small_experiment(face_folder, stage="gan", steps=2, scale=1, pipeline=DegradationConfig(),
                           init_from=str(tmp_path / "out"), losses=SRLossWeights(1.0, 0.0, 0.0))
    gan.validate()
    g_trainer = gan.build(tmp_path / "gan", tensorboard=False)
    before = [p.detach().clone() for p in g_trainer.D.parameters()]
    g_trainer.fit()
    assert any(not torch.equal(a, b) for a, b in zip(before, g_trainer.D.parameters()))
    assert g_trainer.export(tmp_path / "gan_out").joinpath("critic.safetensors").is_file()


def test_restoration_needs_the_pipeline_and_a_size_divisible_by_4(face_folder) -> None:
    from srgan_wgan.data.degradations import DegradationConfig

    with pytest.raises(ConfigError, match="restoration"):
        small_experiment(face_folder, scale=1).validate()
    with pytest.raises(ConfigError, match="restoration"):
        SRExperiment(data=str(face_folder), scale=1, hr_size=30, pipeline=DegradationConfig()).validate()


def test_experiment_round_trips_through_a_dict_and_refuses_unknown_keys(face_folder) -> None:
    from dataclasses import asdict

    from srgan_wgan.data.degradations import DegradationConfig
    from srgan_wgan.utils.config_io import from_dict, replace_nested

    exp = small_experiment(face_folder, pipeline=DegradationConfig(jpeg_quality=(40, 90)),
                           extra_crop_fractions=(0.8,))
    raw = json.loads(json.dumps(asdict(exp), default=list))  # tuples become lists, as in experiment.json
    back = from_dict(SRExperiment, raw)
    assert back == exp and isinstance(back.pipeline.jpeg_quality, tuple) and isinstance(back.train.betas, tuple)
    assert replace_nested(exp, {"train.steps": 7, "scale": 8}).train.steps == 7
    with pytest.raises(ConfigError, match="unknown key.*bogus"):
        from_dict(SRExperiment, {**raw, "bogus": 1})


def test_a_library_only_run_is_exported_and_fine_tuned(tmp_path, face_folder) -> None:
    """No CLI: build + fit writes experiment.json itself, export_run rebuilds the release from the run folder alone,
    and finetune_experiment continues from that release."""
    from srgan_wgan.apps.face_sr import export_run, finetune_experiment
    from srgan_wgan.io.weights import load_pretrained

    trainer = small_experiment(face_folder, steps=2).build(tmp_path / "run", tensorboard=False)
    trainer.fit()
    assert json.loads((tmp_path / "run" / "experiment.json").read_text())["kind"] == "SRExperiment"
    assert export_run(tmp_path / "run", tmp_path / "release") == 2
    G = load_pretrained(tmp_path / "release" / "generator.safetensors")
    assert torch.equal(G.state_dict()["conv_first.weight"], trainer.G.state_dict()["conv_first.weight"])
    ft = finetune_experiment(tmp_path / "release", str(face_folder), steps=2, stage="fidelity", device="cpu", amp="off")
    tuned = ft.build(tmp_path / "ft", tensorboard=False)
    assert torch.equal(tuned.G.state_dict()["conv_first.weight"], G.state_dict()["conv_first.weight"])
    tuned.fit()
    assert not torch.equal(tuned.G.state_dict()["conv_first.weight"], G.state_dict()["conv_first.weight"])
    assert export_run(tmp_path / "ft", tmp_path / "ft_release") == 2
