"""Painting generation: style names, per-sample seeding, the generate / styles / interpolate commands."""

from __future__ import annotations

from pathlib import Path

import pytest
import numpy as np
import torch
from PIL import Image

from srgan_wgan.apps.paint import PaintGenerator, normalize_style, truncated_normal
from srgan_wgan.archs import CondGenerator
from srgan_wgan.errors import UserError
from srgan_wgan.io.weights import save_pretrained
from cli_inprocess import sub_command

STYLES = ["Impressionism", "Ukiyo_e", "Pop_Art"]


@pytest.mark.parametrize("n1,n2,d", [(60, 45, 256), (700, 500, 48)])
def test_frechet_distance_equals_the_sqrtm_formula(n1, n2, d) -> None:
    """The SVD / symmetric forms give scipy.linalg.sqrtm's FID, with fewer samples than dimensions (per-style FID)
    and with more."""
    import numpy as np
    from scipy import linalg

    from srgan_wgan.gan_metrics import frechet_distance

    rng = np.random.default_rng(1)
    mix = rng.normal(size=(d, d)) / np.sqrt(d)
    a, b = rng.normal(size=(n1, d)) @ mix, 1.5 * rng.normal(size=(n2, d)) @ mix + 0.2
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    ref = ((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(linalg.sqrtm(s1 @ s2).real)
    assert frechet_distance(a, b) == pytest.approx(ref, rel=1e-6)


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    G = CondGenerator(num_classes=3, z_dim=8, embed_dim=8, resolution=16, out_channels=3, base_channels=32,
                      min_channels=8)
    out = tmp_path_factory.mktemp("w") / "tiny-paint"
    save_pretrained(G, out / "generator.safetensors",
                    {"class_names": STYLES, "class_counts": {"Impressionism": 10, "Ukiyo_e": 7, "Pop_Art": 3}})
    return out


def test_style_names_are_case_and_separator_insensitive(model) -> None:
    assert normalize_style("ukiyo-e") == normalize_style("Ukiyo_e") == normalize_style("UKIYO E")
    gen = PaintGenerator(model, "cpu")
    assert gen.style_index("pop art") == 2 and gen.style_index("IMPRESSIONISM") == 0
    with pytest.raises(UserError, match="Impressionism, Ukiyo_e, Pop_Art"):
        gen.style_index("cubism")


def test_same_seed_same_image_whatever_n_or_batch(model) -> None:
    """fp32: bit-identical whatever ``n`` or the batch size. bf16 (the CPU default where native): oneDNN picks its
    kernels by batch shape, so other batch sizes agree within bf16 rounding (2/255), the same call bit-exactly."""
    gen = PaintGenerator(model, "cpu", fp32=True)
    a = gen.generate("ukiyo-e", n=3, seed=5)
    b = gen.generate("ukiyo-e", n=7, seed=5, batch_size=2)
    assert a.shape == (3, 3, 16, 16) and torch.equal(a, b[:3])
    fast = PaintGenerator(model, "cpu")
    c = fast.generate("ukiyo-e", n=3, seed=5)
    assert torch.equal(c, fast.generate("ukiyo-e", n=3, seed=5))
    torch.testing.assert_close(c, fast.generate("ukiyo-e", n=7, seed=5, batch_size=2)[:3], atol=2 / 255, rtol=0)
    torch.testing.assert_close(c, a, atol=4 / 255, rtol=0)  # bf16 vs fp32 on this random toy model
    assert not torch.equal(a, gen.generate("ukiyo-e", n=3, seed=6))
    assert not torch.equal(a, gen.generate("pop_art", n=3, seed=5))
    with pytest.raises(UserError, match="-n"):
        gen.generate("pop_art", n=0)


def test_truncation_bounds_latents() -> None:
    z = truncated_normal((10000,), torch.Generator().manual_seed(0), 0.5)
    assert z.abs().max() <= 0.5 and z.std() < 0.35
    with pytest.raises(UserError):
        truncated_normal((3,), torch.Generator(), -1.0)


def test_interpolation_ends_at_the_two_styles(model) -> None:
    gen = PaintGenerator(model, "cpu")
    frames = gen.interpolate("impressionism", "pop-art", steps=4, rows=2, seed=1)
    assert frames.shape == (2, 4, 3, 16, 16)
    start = gen.generate("impressionism", n=2, seed=1)
    end = gen.generate("pop-art", n=2, seed=1)
    torch.testing.assert_close(frames[:, 0], start, atol=1e-5, rtol=0)
    torch.testing.assert_close(frames[:, -1], end, atol=1e-5, rtol=0)


paint = sub_command("paint")  # the CLI in this process (tests/cli_inprocess.py)


def test_generate_styles_interpolate_commands(model, tmp_path) -> None:
    grid = tmp_path / "grid.png"
    out = paint("generate", "--style", "ukiyo-e", "-n", "5", "--model", str(model), "-o", str(grid), "--size", "64",
                "--nrow", "5", "--device", "cpu")
    assert out.returncode == 0, out.stderr
    assert Image.open(grid).size == (5 * 66 + 2, 68)
    out = paint("generate", "--style", "Pop_Art", "-n", "2", "--model", str(model), "--out-dir", str(tmp_path / "d"))
    assert out.returncode == 0 and len(list((tmp_path / "d").glob("Pop_Art_seed0_*.png"))) == 2
    listing = paint("styles", "--model", str(model))
    assert listing.returncode == 0 and "Ukiyo_e" in listing.stdout + listing.stderr
    gif = tmp_path / "i.gif"
    out = paint("interpolate", "--from", "impressionism", "--to", "ukiyo_e", "--steps", "3", "--rows", "2",
                "--model", str(model), "-o", str(gif))
    assert out.returncode == 0, out.stderr
    assert Image.open(gif).n_frames == 4
    missing = tmp_path / "no-such-folder" / "i.gif"
    out = paint("interpolate", "--from", "impressionism", "--to", "ukiyo_e", "--steps", "3", "--rows", "2",
                "--model", str(model), "-o", str(missing))
    assert out.returncode != 0 and "output folder does not exist" in out.stderr
    assert not missing.parent.exists()
    out = paint("generate", "--style", "ukiyo-e", "-n", "2", "--model", str(model), "-o", str(missing.with_suffix(".png")))
    assert out.returncode != 0 and "output folder does not exist" in out.stderr
    assert not missing.parent.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--style", "cubism"], "unknown style 'cubism'; this model has: Impressionism, Ukiyo_e, Pop_Art"),
        (["--style", "pop art", "-n", "0"], "-n must be at least 1"),
        (["--style", "pop art", "-n", "-3"], "-n must be at least 1"),
        (["--style", "pop art", "--size", "100"], "--size must be"),
        (["--style", "pop art", "--model", "wikiart-1024"], "unknown model"),
    ],
)
def test_generate_bad_input(model, tmp_path, args, message) -> None:
    dst = tmp_path / "g.png"
    full = [*args] if "--model" in args else [*args, "--model", str(model)]
    out = paint("generate", *full, "-o", str(dst))
    assert out.returncode == 2, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], out.stderr
    assert not dst.exists()


def test_generate_never_overwrites_without_force(model, tmp_path) -> None:
    dst = tmp_path / "g.png"
    dst.write_bytes(b"keep me")
    out = paint("generate", "--style", "pop art", "--model", str(model), "-o", str(dst))
    assert out.returncode == 2 and "--force" in out.stderr and dst.read_bytes() == b"keep me"
    out = paint("generate", "--style", "pop art", "--model", str(model), "-o", str(dst), "--force")
    assert out.returncode == 0 and dst.read_bytes() != b"keep me"


def test_frechet_and_kernel_distances_against_known_values() -> None:
    import numpy as np

    from srgan_wgan.gan_metrics import frechet_distance, kernel_inception_distance

    rng = np.random.default_rng(0)
    a = rng.normal(size=(2000, 4))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    # same covariance, mean shifted by (1, 1, 0, 0): FID = |shift|^2 = 2
    assert frechet_distance(a, a + np.array([1.0, 1.0, 0, 0])) == pytest.approx(2.0, abs=1e-6)
    # isotropic N(0, I) vs N(0, 4I) in 4-d: trace(I + 4I - 2*2I) = 4
    b = rng.normal(size=(4000, 4))
    assert frechet_distance(b, 2 * rng.normal(size=(4000, 4))) == pytest.approx(4.0, rel=0.1)
    same = kernel_inception_distance(a[:1000], a[1000:], subsets=10, subset_size=500)
    diff = kernel_inception_distance(a[:1000], a[1000:] + 1.0, subsets=10, subset_size=500)
    assert abs(same) < 0.01 and diff > 0.1


@pytest.fixture
def painting_folder(tmp_path) -> Path:
    import numpy as np

    rng = np.random.default_rng(0)
    root = tmp_path / "paintings"
    for style, colour in (("Impressionism", (200, 60, 40)), ("Ukiyo_e", (30, 60, 200)), ("Pop_Art", (40, 200, 60))):
        (root / style).mkdir(parents=True)
        for i in range(30):
            arr = np.clip(rng.normal(colour, 40, (24, 24, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(arr).save(root / style / f"{style}_{i}.png")
    return root


@pytest.mark.shared
def test_paint_eval_reports_every_metric(model, painting_folder, tmp_path, shared_dir) -> None:
    import json

    from srgan_wgan.apps.paint import split_classes
    from srgan_wgan.data.folders import scan_class_folders

    for style in STYLES:  # unreadable files are skipped and not counted as training paintings
        for i in range(3):
            (painting_folder / style / f"broken_{i}.png").write_text("not an image")
    broken_in_train = sum(f.name.startswith("broken") for fs in split_classes(scan_class_folders(painting_folder),
                                                                                0.3)[0].values() for f in fs)
    out = paint("eval", "--data", str(painting_folder), "--model", str(model), "--n-per-style", "8",
                "--json", str(tmp_path / "e.json"), "--device", "cpu", "--holdout", "0.3")
    assert out.returncode == 0, out.stderr
    r = json.loads((tmp_path / "e.json").read_text())
    assert set(r["per_style"]) == set(STYLES) and r["heldout_real"] > 10
    assert r["train_real"] + r["heldout_real"] == 90 and r["train_files"] - r["train_real"] == broken_in_train
    assert r["overall"]["style_acc_real"] >= 0.9  # the colours separate the styles: the probe must learn that
    assert 0 <= r["overall"]["lpips_div_generated"] and 0 < r["overall"]["lpips_div_real"]
    from benchmarks.paint_diversity import within_style_diversity

    quick = within_style_diversity(str(model), n_per_style=8)  # the training monitor: the same figure, no probe
    assert quick["mean"] == pytest.approx(r["overall"]["lpips_div_generated"], abs=1e-6)
    assert quick["Ukiyo_e"] == pytest.approx(r["per_style"]["Ukiyo_e"]["lpips_div_generated"], abs=1e-6)
    from srgan_wgan.gan_metrics import find_fid_inception

    o = r["overall"]
    if find_fid_inception() is not None:
        assert r["fid_available"] and o["fid"] > 0 and o["kid_real_floor"] is not None
        assert 0 <= o["precision"] <= 1 and 0 <= o["recall"] <= 1
    else:
        assert o["fid"] is None and "FID/KID skipped" in out.stdout + out.stderr
        assert o["precision"] is None and o["kid_real_floor"] is None
    # memorisation check: both medians are real LPIPS distances, and it is printed
    assert 0 < o["nn_lpips_generated"] < 1 and 0 < o["nn_lpips_test"] < 1
    assert "nearest training painting" in out.stderr


def test_precision_recall_and_nearest_lpips_measure_what_they_claim() -> None:
    from srgan_wgan.gan_metrics import nearest_lpips, precision_recall

    rng = np.random.default_rng(0)
    real = rng.normal(size=(300, 8))
    p, r = precision_recall(real, rng.normal(size=(300, 8)))
    assert p > 0.7 and r > 0.7  # same distribution
    p, r = precision_recall(real, rng.normal(size=(300, 8)) * 0.2)
    assert p > 0.95 and r < 0.1  # collapsed onto the mode: faithful, no coverage
    p, r = precision_recall(real, rng.normal(size=(300, 8)) + 6)
    assert p < 0.05 and r < 0.05

    class L1(torch.nn.Module):  # a stand-in for LPIPS (same call): mean absolute difference per pair
        def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return (a - b).abs().flatten(1).mean(1)

    g = torch.Generator().manual_seed(0)
    refs = torch.rand(10, 3, 64, 64, generator=g)
    queries = torch.cat([refs[3:4], torch.rand(1, 3, 64, 64, generator=g)])
    d = nearest_lpips(queries, refs, L1(), batch=4)
    assert d[0] == 0 and d[1] > 0.2  # a copy is at distance 0


def test_finetune_keeps_known_styles_and_adds_new_ones(tmp_path, painting_folder) -> None:
    from srgan_wgan.apps.paint import PaintExperiment, finetune_paint_experiment
    from srgan_wgan.training import GANTrainConfig

    small = GANTrainConfig(steps=1, batch_size=4, n_critic=1, device="cpu", amp="off", sample_every=1,
                           checkpoint_every=1)
    src_data = tmp_path / "src"
    src_data.mkdir()
    for style in ("Impressionism", "Ukiyo_e"):
        (src_data / style).symlink_to(painting_folder / style, target_is_directory=True)
    base = PaintExperiment(data=str(src_data), resolution=16, base_channels=8, z_dim=8, embed_dim=8, train=small)
    trainer = base.build(tmp_path / "base", tensorboard=False)
    trainer.fit()
    release = trainer.export(tmp_path / "release")
    new_data = tmp_path / "new"
    new_data.mkdir()
    (new_data / "ukiyo-e").symlink_to(painting_folder / "Ukiyo_e", target_is_directory=True)
    (new_data / "Pop_Art").symlink_to(painting_folder / "Pop_Art", target_is_directory=True)
    exp = finetune_paint_experiment(release, str(new_data), steps=1, batch_size=4, n_critic=1, device="cpu",
                                    amp="off", sample_every=1, checkpoint_every=1)
    ft = exp.build(tmp_path / "ft", tensorboard=False)
    assert ft.task.class_names == ["Pop_Art", "ukiyo-e"]
    old_g = trainer.G_ema.embed.weight
    torch.testing.assert_close(ft.G.embed.weight[1], old_g[1])  # Ukiyo_e kept its learned row
    torch.testing.assert_close(ft.G.embed.weight[0], old_g.mean(0))  # the new style starts from the mean
    # critic too (released in fp16, see FINETUNE_DTYPE)
    torch.testing.assert_close(ft.D.embed.weight[1], trainer.D.embed.weight[1].half().float(), rtol=0, atol=0)
    ft.fit()
    assert (ft.export() / "generator.safetensors").exists()


def _tiny_run(data: Path, run: Path, **overrides):
    from srgan_wgan.apps.paint import PaintExperiment
    from srgan_wgan.training import GANTrainConfig

    train = GANTrainConfig(steps=2, batch_size=4, n_critic=1, device="cpu", amp="off", sample_every=1,
                           checkpoint_every=1, diffaug=overrides.pop("diffaug", ""))
    exp = PaintExperiment(data=str(data), resolution=16, base_channels=8, z_dim=8, embed_dim=8, train=train,
                          **overrides)
    trainer = exp.build(run, tensorboard=False)
    trainer.fit()
    return trainer


def test_unconditional_baseline_has_one_style_and_balanced_sampling(tmp_path, painting_folder) -> None:
    from srgan_wgan.apps.paint import UNCONDITIONAL_STYLE, PaintingDataset

    trainer = _tiny_run(painting_folder, tmp_path / "u", unconditional=True, critic_channels=4)
    assert trainer.task.class_names == [UNCONDITIONAL_STYLE]
    assert trainer.D.config.cond == "none" and trainer.D.config.base_channels == 4 and trainer.D.embed is None
    assert trainer.G.config.num_classes == 1
    ds = trainer.dataset
    assert isinstance(ds, PaintingDataset) and ds.single_class
    assert all(int(ds[i][1]) == 0 for i in range(len(ds)))
    # sampling still balances the real styles: each style's weights sum to the same total
    totals = torch.zeros(3, dtype=torch.float64).index_add_(0, ds.folder.labels, ds.sample_weights)
    torch.testing.assert_close(totals, torch.ones(3, dtype=torch.float64))
    gen = PaintGenerator(trainer.export(tmp_path / "release"), device="cpu")
    assert gen.unconditional and gen.styles == [UNCONDITIONAL_STYLE]
    assert gen.generate(UNCONDITIONAL_STYLE, 3, seed=1).shape == (3, 3, 16, 16)


def test_unconditional_refuses_init_from(tmp_path, painting_folder) -> None:
    from srgan_wgan.apps.paint import PaintExperiment

    with pytest.raises(UserError, match="from scratch"):
        PaintExperiment(data=str(painting_folder), unconditional=True, init_from="wikiart-64").validate()


@pytest.mark.shared
def test_paint_eval_of_an_unconditional_model(tmp_path, painting_folder, shared_dir) -> None:
    import json

    trainer = _tiny_run(painting_folder, tmp_path / "u", unconditional=True)
    release = trainer.export(tmp_path / "release")
    out = paint("eval", "--data", str(painting_folder), "--model", str(release), "--n-per-style", "4",
                "--json", str(tmp_path / "e.json"), "--device", "cpu", "--holdout", "0.3")
    assert out.returncode == 0, out.stderr
    r = json.loads((tmp_path / "e.json").read_text())
    assert r["unconditional"] and set(r["per_style"]) == set(STYLES)
    o = r["overall"]
    assert o["style_acc_generated"] is None and o["style_acc_real"] is None  # no styles to recognise
    assert o["lpips_div_generated_mixed"] >= 0 and o["lpips_div_real_mixed"] > 0
    assert "unconditional model" in out.stdout + out.stderr


def test_diffaug_run_is_reproducible(tmp_path, painting_folder) -> None:
    a = _tiny_run(painting_folder, tmp_path / "a", diffaug="color,translation,cutout")
    b = _tiny_run(painting_folder, tmp_path / "b", diffaug="color,translation,cutout")
    c = _tiny_run(painting_folder, tmp_path / "c")
    for (name, pa), pb in zip(a.D.state_dict().items(), b.D.state_dict().values()):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0, msg=name)
    assert any(not torch.equal(pa, pc) for pa, pc in zip(a.D.state_dict().values(), c.D.state_dict().values()))


def test_style_figure_has_one_row_per_style_with_real_paintings(model, painting_folder, tmp_path) -> None:
    from benchmarks.paint_figures import style_figure

    out = tmp_path / "styles.png"
    style_figure(str(model), out, n=4, data=painting_folder, real=2, holdout=0.3, cell=16)
    im = Image.open(out)
    assert im.size == (150 + 4 * 18 + 12 + 2 * 18, 3 * 18 + 2)
    px = im.convert("RGB").load()
    # the second real painting of the last row (Pop_Art) is green, as the folder's Pop_Art images are
    x0 = 150 + 4 * 18 + 12 + 18
    r, g, b = px[x0 + 8, 2 + 2 * 18 + 8]
    assert g > r and g > b


def test_random_resized_crop_is_seeded_and_keeps_the_size(painting_folder) -> None:
    from srgan_wgan.apps.paint import PaintingDataset
    from srgan_wgan.data.folders import decode_class_folders

    folder = decode_class_folders(painting_folder, 16)
    folder.images[0] = torch.arange(16).repeat(3, 16, 1).to(torch.uint8) * 16  # a horizontal ramp
    plain = PaintingDataset(folder, flip=False)
    crop = PaintingDataset(folder, flip=False, crop_scale=0.5)
    a, b, c = crop[(0, 1)][0], crop[(0, 1)][0], crop[(0, 3)][0]
    assert a.shape == plain[(0, 1)][0].shape == (3, 16, 16)
    assert torch.equal(a, b) and not torch.equal(a, c)  # the per-sample seed decides the crop
    assert not torch.equal(a, plain[(0, 1)][0])
    assert (a[0, 0, 1:] >= a[0, 0, :-1]).all()  # a crop of a ramp is still a ramp
    from srgan_wgan.apps.paint import PaintExperiment

    with pytest.raises(UserError, match="crop-scale"):
        PaintExperiment(data=str(painting_folder), crop_scale=0.05).validate()
