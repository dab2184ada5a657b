"""Painting training extras: the AC-GAN auxiliary classifier, exporting a run's checkpoint, the validation split and
comparing several models in one `paint eval`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from srgan_wgan.archs import ConvCritic, CriticConfig
from srgan_wgan.errors import ConfigError, UserError
from cli_inprocess import sub_command

STYLES = ["Impressionism", "Pop_Art", "Ukiyo_e"]


@pytest.fixture(scope="module")
def colour_folder(tmp_path_factory) -> Path:
    """Three styles that differ by colour: 40 noisy 16x16 images each."""
    rng = np.random.default_rng(0)
    root = tmp_path_factory.mktemp("paint") / "paintings"
    for style, colour in zip(STYLES, ((200, 60, 40), (40, 200, 60), (30, 60, 200))):
        (root / style).mkdir(parents=True)
        for i in range(40):
            arr = np.clip(rng.normal(colour, 40, (16, 16, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(arr).save(root / style / f"{style}_{i}.png")
    return root


def _experiment(data: Path, steps: int = 2, aux: float = 0.0, **overrides):
    from srgan_wgan.apps.paint import PaintExperiment
    from srgan_wgan.training import GANTrainConfig

    train = GANTrainConfig(steps=steps, batch_size=8, n_critic=1, device="cpu", amp="off", sample_every=steps,
                           checkpoint_every=steps, log_every=1, lr_g=1e-3, lr_d=1e-3)
    return PaintExperiment(data=str(data), resolution=16, base_channels=8, z_dim=8, embed_dim=8, train=train,
                           aux_class_weight=aux, **overrides)


paint = sub_command("paint")  # the CLI in this process (tests/cli_inprocess.py)


# ---- the auxiliary classifier -----------------------------------------------------------------------------------

def test_critic_auxiliary_head_gives_class_logits() -> None:
    D = ConvCritic(CriticConfig(resolution=16, base_channels=8, max_channels=16, cond="class", num_classes=5,
                                aux_classifier=True))
    x, y = torch.randn(3, 3, 16, 16), torch.tensor([0, 4, 2])
    score, logits = D.score_and_logits(x, y)
    assert score.shape == (3,) and logits.shape == (3, 5)
    torch.testing.assert_close(D(x, y), score)  # the head does not change the score
    plain = ConvCritic(CriticConfig(resolution=16, base_channels=8, max_channels=16, cond="class", num_classes=5))
    assert plain.score_and_logits(x, y)[1] is None
    with pytest.raises(ConfigError, match="class-conditioned"):
        ConvCritic(CriticConfig(resolution=16, cond="none", aux_classifier=True))


def test_aux_weight_needs_a_classifier_and_is_refused_for_unconditional(colour_folder, tmp_path) -> None:
    from srgan_wgan.apps.digits import DigitsExperiment

    from srgan_wgan.training.tasks import ClassConditionalTask

    trainer = DigitsExperiment(steps=1).build(tmp_path / "d", tensorboard=False)  # a critic without the head
    with pytest.raises(ConfigError, match="auxiliary classifier"):
        ClassConditionalTask(trainer.task.class_names, aux_class_weight=1.0).check(trainer.G, trainer.D)
    with pytest.raises(UserError, match="no styles to classify"):
        _experiment(colour_folder, aux=1.0, unconditional=True).validate()
    with pytest.raises(ConfigError, match="aux class weight"):
        _experiment(colour_folder, aux=-1.0).validate()


def test_aux_classifier_learns_the_styles_and_steers_the_generator(colour_folder, tmp_path) -> None:
    """With the AC-GAN term the critic's head learns the (colour) styles of real paintings and the generator's
    cross-entropy under that head falls: its paintings take on their style's colour."""
    torch.manual_seed(0)
    trainer = _experiment(colour_folder, steps=60, aux=1.0).build(tmp_path / "ac", tensorboard=False)
    assert trainer.D.classifier is not None
    trainer.fit()
    rows = [json.loads(line) for line in (tmp_path / "ac" / "metrics.jsonl").read_text().splitlines()]
    first, last = rows[:5], rows[-10:]
    assert all("critic/aux_ce_real" in r and "gen/aux_ce" in r for r in rows)
    ce_real = [np.mean([r["critic/aux_ce_real"] for r in part]) for part in (first, last)]
    ce_gen = [np.mean([r["gen/aux_ce"] for r in part]) for part in (first, last)]
    assert ce_real[1] < 0.5 * ce_real[0], ce_real
    assert ce_gen[1] < 0.5 * ce_gen[0], ce_gen
    # the head recognises real paintings of each style
    ds = trainer.dataset
    x = torch.stack([ds[i][0] for i in range(len(ds))])
    with torch.no_grad():
        _, logits = trainer.D.score_and_logits(x, ds.folder.labels)
    assert (logits.argmax(1) == ds.folder.labels).double().mean() > 0.9
    # and the generator's paintings have their style's dominant channel (R, G, B for the three styles)
    G = trainer.G_ema
    with torch.no_grad():
        fake = G(torch.randn(30, 8), torch.arange(3).repeat_interleave(10))
    dominant = fake.mean((2, 3)).argmax(1).view(3, 10)
    assert (dominant == torch.tensor([0, 1, 2]).view(3, 1)).double().mean() >= 0.8, dominant


def test_finetune_adds_or_drops_the_aux_head(colour_folder, tmp_path) -> None:
    """A release without the head fine-tunes into an AC-GAN run (critic loaded, head fresh), and back."""
    from srgan_wgan.apps.paint import finetune_paint_experiment

    plain = _experiment(colour_folder).build(tmp_path / "plain", tensorboard=False)
    plain.fit()
    release = plain.export(tmp_path / "release")
    exp = finetune_paint_experiment(release, str(colour_folder), steps=1, batch_size=8, n_critic=1, device="cpu",
                                    amp="off", aux_class_weight=1.0)
    ac = exp.build(tmp_path / "ac", tensorboard=False)
    assert ac.D.classifier is not None
    torch.testing.assert_close(ac.D.embed.weight, plain.D.embed.weight.half().float(), rtol=0, atol=0)
    ac.fit()
    ac_release = ac.export(tmp_path / "ac_release")
    back = finetune_paint_experiment(ac_release, str(colour_folder), steps=1, batch_size=8, n_critic=1,
                                     device="cpu", amp="off").build(tmp_path / "back", tensorboard=False)
    assert back.D.classifier is None
    torch.testing.assert_close(back.D.out.weight, ac.D.out.weight.half().float(), rtol=0, atol=0)


def test_freeze_as_buffers_keeps_weights_out_of_training_and_state() -> None:
    from torch import nn

    from srgan_wgan.archs.critic import freeze_as_buffers

    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 2, 1))
    x = torch.randn(2, 3, 8, 8)
    before = net(x).detach()
    freeze_as_buffers(net)
    assert list(net.parameters()) == [] and len(net.state_dict()) == 0
    net.requires_grad_(True)  # what the engine does to the critic before its step
    assert not any(b.requires_grad for b in net.buffers())
    torch.testing.assert_close(net(x), before, rtol=0, atol=0)
    net.to(torch.float64)
    assert net[0].weight.dtype == torch.float64


@pytest.mark.shared
def test_alexnet_aux_classifier_trains_only_its_head(shared_dir) -> None:
    from srgan_wgan.archs.critic import PretrainedAuxClassifier

    cfg = CriticConfig(resolution=16, base_channels=8, max_channels=16, cond="class", num_classes=3,
                       aux_classifier=True, aux_backbone="alexnet")
    D = ConvCritic(cfg)
    assert isinstance(D.classifier, PretrainedAuxClassifier)
    assert [k for k in D.state_dict() if k.startswith("classifier.")] == ["classifier.fc.weight", "classifier.fc.bias"]
    ref = torch.load(shared_dir / "weights/backbones/alexnet_features.pth", weights_only=True)
    torch.testing.assert_close(D.classifier.features[3].weight, ref["features.3.weight"], rtol=0, atol=0)
    x, y = torch.rand(4, 3, 16, 16) * 2 - 1, torch.tensor([0, 1, 2, 1])
    score, logits = D.score_and_logits(x, y)
    assert score.shape == (4,) and logits.shape == (4, 3)
    D.requires_grad_(True)
    F.cross_entropy(logits, y).backward()
    assert {n for n, _ in D.classifier.named_parameters()} == {"fc.weight", "fc.bias"}
    assert D.classifier.fc.weight.grad.abs().sum() > 0
    with pytest.raises(ConfigError, match="backbone"):
        ConvCritic(CriticConfig(resolution=16, cond="class", num_classes=3, aux_classifier=True, aux_backbone="vgg"))


@pytest.mark.shared
def test_alexnet_aux_classifier_learns_the_styles_and_steers_the_generator(colour_folder, tmp_path,
                                                                         shared_dir) -> None:
    torch.manual_seed(0)
    trainer = _experiment(colour_folder, steps=60, aux=1.0, aux_backbone="alexnet").build(tmp_path / "ac",
                                                                                         tensorboard=False)
    trainer.fit()
    # the head (and only the head) learns at lr_multiplier x the critic's rate
    lrs = {g["lr_mult"]: (g["lr"], len(g["params"])) for g in trainer.opt_d.param_groups}
    assert lrs[10.0] == (pytest.approx(1e-2), 2) and lrs[1.0][0] == pytest.approx(1e-3), lrs
    rows = [json.loads(line) for line in (tmp_path / "ac" / "metrics.jsonl").read_text().splitlines()]
    first, last = rows[:5], rows[-10:]
    ce_real = [np.mean([r["critic/aux_ce_real"] for r in part]) for part in (first, last)]
    ce_gen = [np.mean([r["gen/aux_ce"] for r in part]) for part in (first, last)]
    assert ce_real[1] < 0.5 * ce_real[0], ce_real
    assert ce_gen[1] < 0.5 * ce_gen[0], ce_gen
    with torch.no_grad():
        fake = trainer.G_ema(torch.randn(30, 8), torch.arange(3).repeat_interleave(10))
    dominant = fake.mean((2, 3)).argmax(1).view(3, 10)
    assert (dominant == torch.tensor([0, 1, 2]).view(3, 1)).double().mean() >= 0.8, dominant


@pytest.mark.shared
def test_finetune_swaps_the_aux_classifier_body(colour_folder, tmp_path, shared_dir) -> None:
    """A release with the conv-branch classifier fine-tunes into an AlexNet-head run: the critic is loaded, the head
    starts fresh (a head of another kind is not loaded), and the new release holds only the head's weights."""
    from safetensors.torch import load_file

    from srgan_wgan.apps.paint import finetune_paint_experiment
    from srgan_wgan.archs.critic import PretrainedAuxClassifier

    ac = _experiment(colour_folder, aux=1.0).build(tmp_path / "ac", tensorboard=False)
    ac.fit()
    release = ac.export(tmp_path / "release")
    exp = finetune_paint_experiment(release, str(colour_folder), steps=1, batch_size=8, n_critic=1, device="cpu",
                                    amp="off", aux_class_weight=1.0, aux_backbone="alexnet")
    ft = exp.build(tmp_path / "ft", tensorboard=False)
    assert isinstance(ft.D.classifier, PretrainedAuxClassifier)
    torch.testing.assert_close(ft.D.out.weight, ac.D.out.weight.half().float(), rtol=0, atol=0)
    ft.fit()
    keys = set(load_file(str(ft.export(tmp_path / "ft_release") / "critic.safetensors")))
    assert {k for k in keys if k.startswith("classifier.")} == {"classifier.fc.weight", "classifier.fc.bias"}


def test_aux_backbone_errors_are_one_line(colour_folder, tmp_path) -> None:
    common = ["train", "--data", str(colour_folder), "--resolution", "16", "--steps", "1", "--device", "cpu"]
    no_weight = paint(*common, "--aux-backbone", "alexnet", "--run-dir", str(tmp_path / "a"))
    assert no_weight.returncode != 0 and "--aux-class-weight" in no_weight.stderr + no_weight.stdout
    unknown = paint(*common, "--aux-backbone", "vgg", "--aux-class-weight", "1", "--run-dir", str(tmp_path / "b"))
    assert unknown.returncode != 0 and "alexnet" in unknown.stderr + unknown.stdout
    for out in (no_weight, unknown):
        assert "Traceback" not in out.stderr
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_mode_seeking_term_spreads_the_latents_apart(colour_folder, tmp_path) -> None:
    """Same seed, same data: with the mode-seeking term the generator's paintings of one style differ more from one
    latent to another than without it; the term is logged and refused where there are no latents."""

    def spread(weight: float) -> float:
        torch.manual_seed(0)
        exp = _experiment(colour_folder, steps=40)
        exp.mode_seeking_weight = weight
        trainer = exp.build(tmp_path / f"ms{weight}", tensorboard=False)
        trainer.fit()
        rows = [json.loads(line) for line in (tmp_path / f"ms{weight}" / "metrics.jsonl").read_text().splitlines()]
        assert ("gen/mode_seeking" in rows[-1]) == (weight > 0)
        g = torch.Generator().manual_seed(1)
        with torch.no_grad():
            fake = trainer.G(torch.randn(60, 8, generator=g), torch.arange(3).repeat_interleave(20))
        return float(fake.reshape(3, 20, -1).std(1).mean())  # the trainer's G is channels_last

    plain, seeking = spread(0.0), spread(2.0)
    assert seeking > 1.3 * plain, (plain, seeking)
    with pytest.raises(ConfigError, match="mode-seeking"):
        _experiment(colour_folder, mode_seeking_weight=-1.0).validate()


def test_mode_seeking_needs_latents(tmp_path) -> None:
    from torch import nn

    from srgan_wgan.training import GANTrainConfig, GANTrainer
    from srgan_wgan.training.tasks import ClassConditionalTask

    class NoLatent(nn.Module):
        def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
            return x

    with pytest.raises(ConfigError, match="latents"):
        GANTrainer(NoLatent(), None, ClassConditionalTask(["a"], mode_seeking_weight=1.0), [],
                   GANTrainConfig(n_critic=0, device="cpu"), tmp_path / "r", tensorboard=False)


# ---- minibatch standard deviation -------------------------------------------------------------------------------

def test_minibatch_stddev_groups_samples() -> None:
    from srgan_wgan.archs.critic import minibatch_stddev

    x = torch.randn(8, 3, 2, 2)
    ref = x.view(4, 2, -1).std(0, unbiased=False).mean(1)  # sample i is in group i mod 2
    torch.testing.assert_close(minibatch_stddev(x, 4)[:, 0], ref.repeat(4))
    odd = torch.randn(6, 5)  # no group of 4 fits 6 samples: groups of 3
    torch.testing.assert_close(minibatch_stddev(odd, 4)[:, 0], odd.view(3, 2, -1).std(0, unbiased=False).mean(1)
                               .repeat(3))
    same = torch.randn(1, 5).repeat(4, 1)
    assert minibatch_stddev(same, 4).abs().max() < 1e-3  # a collapsed group has no spread
    assert minibatch_stddev(torch.randn(1, 5), 4).item() == 0.0


def test_mbstd_critic_tells_a_collapsed_batch_apart_and_loads_plain_weights() -> None:
    cfg = dict(resolution=16, base_channels=8, max_channels=16, cond="class", num_classes=3)
    torch.manual_seed(0)
    plain = ConvCritic(CriticConfig(**cfg))
    mb = ConvCritic(CriticConfig(**cfg, mbstd_group=4))
    assert set(mb.state_dict()) - set(plain.state_dict()) == {"mbstd.weight"}
    mb.load_state_dict(plain.state_dict(), strict=False)
    x, y = torch.randn(8, 3, 16, 16), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    torch.testing.assert_close(mb(x, y), plain(x, y))  # zero-initialised: scores as before
    with torch.no_grad():
        mb.mbstd.weight.fill_(1.0)
    collapsed = x[:1].repeat(8, 1, 1, 1)
    # the first sample's score depends on whether the others in its group are copies of it
    assert (mb(x, y)[0] - mb(collapsed, y)[0]).abs() > 1e-4
    with pytest.raises(ConfigError, match="group size"):
        CriticConfig(**cfg, mbstd_group=1).validate()


def test_mbstd_trains_under_the_gradient_penalty_and_fine_tunes_in(colour_folder, tmp_path) -> None:
    """A run with minibatch stddev learns its weight (the gradient penalty differentiates through it twice); a
    release without it fine-tunes into a critic with it, the source critic loaded; the setting travels with the
    release."""
    from srgan_wgan.apps.paint import finetune_paint_experiment

    plain = _experiment(colour_folder).build(tmp_path / "plain", tensorboard=False)
    plain.fit()
    release = plain.export(tmp_path / "release")
    exp = finetune_paint_experiment(release, str(colour_folder), steps=4, batch_size=8, n_critic=1, device="cpu",
                                    amp="off", mbstd_group=4, lr_d=1e-3)
    mb = exp.build(tmp_path / "mb", tensorboard=False)
    assert mb.D.mbstd is not None and mb.D.mbstd.weight.abs().max() == 0
    torch.testing.assert_close(mb.D.fc.weight, plain.D.fc.weight.half().float(), rtol=0, atol=0)
    mb.fit()
    w = mb.D.mbstd.weight
    assert torch.isfinite(w).all() and w.abs().max() > 0
    mb_release = mb.export(tmp_path / "mb_release")
    assert json.loads((mb_release / "critic.json").read_text())["config"]["mbstd_group"] == 4
    kept = finetune_paint_experiment(mb_release, str(colour_folder), steps=1, batch_size=8, n_critic=1,
                                     device="cpu", amp="off")
    assert kept.mbstd_group == 4
    dropped = finetune_paint_experiment(mb_release, str(colour_folder), steps=1, batch_size=8, n_critic=1,
                                        device="cpu", amp="off", mbstd_group=0).build(tmp_path / "off",
                                                                                        tensorboard=False)
    assert dropped.D.mbstd is None
    bad = paint("finetune", "--from", str(release), "--data", str(colour_folder), "--mbstd-group", "1",
                "--device", "cpu", "--run-dir", str(tmp_path / "bad"))
    assert bad.returncode != 0 and "group size" in bad.stderr + bad.stdout and "Traceback" not in bad.stderr
    assert not (tmp_path / "bad").exists()


def test_mbstd_by_style_trains_on_same_style_groups_and_refuses_bad_settings(colour_folder, tmp_path) -> None:
    """``--mbstd-by-style``: the trainer's batches are groups of ``mbstd_group`` paintings of one style in the
    layout the critic's minibatch stddev groups by; the run trains and its experiment records the setting;
    without minibatch stddev, with an unconditional model or a group size that does not divide the batch it is
    a one-line error and nothing is written."""
    exp = _experiment(colour_folder, steps=2, mbstd_group=4, mbstd_by_style=True)
    trainer = exp.build(tmp_path / "run", tensorboard=False)
    batches = trainer._batches()
    for _ in range(3):
        _, y = next(batches)
        assert (y.reshape(4, 2) == y.reshape(4, 2)[0]).all(), y
    trainer.fit()
    info = json.loads((tmp_path / "run" / "experiment.json").read_text())
    assert info["experiment"]["mbstd_by_style"] is True
    release = trainer.export(tmp_path / "release")
    for args, msg in ((("--mbstd-by-style",), "--mbstd-group"),
                      (("--mbstd-by-style", "--mbstd-group", "3"), "divide"),
                      (("--mbstd-by-style", "--mbstd-group", "4", "--unconditional"), "unconditional")):
        out = paint("train", "--data", str(colour_folder), "--steps", "1", "--batch-size", "8", "--device", "cpu",
                    "--run-dir", str(tmp_path / "bad"), *args)
        assert out.returncode != 0 and msg in out.stderr + out.stdout and "Traceback" not in out.stderr, out
        assert not (tmp_path / "bad").exists()
    ft = paint("finetune", "--from", str(release), "--data", str(colour_folder), "--steps", "1", "--batch-size", "8",
               "--n-critic", "1", "--device", "cpu", "--run-dir", str(tmp_path / "ft"), "--mbstd-by-style")
    assert ft.returncode == 0, ft.stderr
    assert json.loads((tmp_path / "ft" / "experiment.json").read_text())["experiment"]["mbstd_by_style"] is True


def test_finetune_cli_takes_the_aux_weight(colour_folder, tmp_path) -> None:
    first = _experiment(colour_folder).build(tmp_path / "run", tensorboard=False)
    first.fit()
    release = first.export(tmp_path / "release")
    out = paint("finetune", "--from", str(release), "--data", str(colour_folder), "--steps", "2", "--batch-size",
                "4", "--n-critic", "1", "--aux-class-weight", "0.5", "--device", "cpu", "--run-dir",
                str(tmp_path / "ft"))
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in (tmp_path / "ft" / "metrics.jsonl").read_text().splitlines()]
    assert "gen/aux_ce" in rows[-1]
    info = json.loads((tmp_path / "ft" / "experiment.json").read_text())
    assert info["experiment"]["aux_class_weight"] == 0.5 and info["experiment"]["train"]["n_critic"] == 1


# ---- export of a run's checkpoint -------------------------------------------------------------------------------

def test_paint_export_matches_the_trainers_own_export(colour_folder, tmp_path) -> None:
    from safetensors.torch import load_file

    from srgan_wgan.apps.paint import PaintGenerator

    trainer = _experiment(colour_folder, aux=1.0).build(tmp_path / "run", tensorboard=False)
    trainer.fit()
    own = trainer.export(tmp_path / "own")
    out = paint("export", "--run-dir", str(tmp_path / "run"), "--out", str(tmp_path / "cli"))
    assert out.returncode == 0, out.stderr
    for name in ("generator.safetensors", "generator_raw.safetensors", "critic.safetensors"):
        a, b = load_file(str(own / name)), load_file(str(tmp_path / "cli" / name))
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name
    gen = PaintGenerator(tmp_path / "cli", device="cpu")
    assert gen.styles == STYLES and gen.G.weights_metadata["extra"]["step"] == 2
    again = paint("export", "--run-dir", str(tmp_path / "run"), "--out", str(tmp_path / "cli"))
    assert again.returncode != 0 and "--force" in again.stderr + again.stdout
    missing = paint("export", "--run-dir", str(tmp_path / "nothing"), "--out", str(tmp_path / "x"))
    assert missing.returncode != 0 and "Traceback" not in missing.stderr
    assert not (tmp_path / "x").exists()


def test_paint_export_of_an_earlier_checkpoint_copy(colour_folder, tmp_path) -> None:
    import shutil

    from srgan_wgan.apps.paint import export_paint_run

    trainer = _experiment(colour_folder, steps=2).build(tmp_path / "run", tensorboard=False)
    trainer.fit()
    shutil.copy(tmp_path / "run" / "resume.pt", tmp_path / "step2.pt")
    trainer.fit(steps=4)
    assert export_paint_run(tmp_path / "run", tmp_path / "latest") == 4
    assert export_paint_run(tmp_path / "run", tmp_path / "early", tmp_path / "step2.pt") == 2


# ---- the validation split and several models ---------------------------------------------------------------------

def test_validation_split_lies_inside_the_training_split(colour_folder) -> None:
    from srgan_wgan.apps.paint import eval_split, split_classes
    from srgan_wgan.data.folders import scan_class_folders

    files = scan_class_folders(colour_folder)
    train, test = split_classes(files, 0.2)
    fit, val = eval_split(files, 0.2, "val")
    for s in STYLES:
        assert val[s] and fit[s]
        assert set(val[s]) | set(fit[s]) == set(train[s])  # val + probe files = the training split
        assert not set(val[s]) & set(fit[s]) and not set(val[s]) & set(test[s])
    assert eval_split(files, 0.2, "test") == (train, test)
    with pytest.raises(UserError, match="unknown split"):
        eval_split(files, 0.2, "holdout")


@pytest.mark.shared
def test_paint_eval_compares_several_models_on_one_reference(colour_folder, tmp_path, shared_dir) -> None:
    a = _experiment(colour_folder, aux=1.0).build(tmp_path / "a", tensorboard=False)
    a.fit()
    b = _experiment(colour_folder, unconditional=True).build(tmp_path / "b", tensorboard=False)
    b.fit()
    ra, rb = a.export(tmp_path / "ra"), b.export(tmp_path / "rb")
    common = ("--data", str(colour_folder), "--n-per-style", "4", "--device", "cpu", "--holdout", "0.25")
    out = paint("eval", *common, "--model", str(ra), "--model", str(rb), "--split", "val",
                "--json", str(tmp_path / "both.json"))
    assert out.returncode == 0, out.stderr
    both = json.loads((tmp_path / "both.json").read_text())
    assert [r["unconditional"] for r in both] == [False, True] and all(r["split"] == "val" for r in both)
    alone = paint("eval", *common, "--model", str(ra), "--split", "val", "--json", str(tmp_path / "a.json"))
    assert alone.returncode == 0, alone.stderr
    single = json.loads((tmp_path / "a.json").read_text())
    assert single["overall"] == both[0]["overall"]  # the shared reference changes nothing
    assert single["overall"]["style_acc_real"] >= 0.9  # the probe separates the colours on validation paintings
    bad = paint("eval", *common, "--model", str(ra), "--split", "train")
    assert bad.returncode != 0 and "unknown split" in bad.stderr + bad.stdout and "Traceback" not in bad.stderr
    small = paint("eval", *common, "--model", str(ra), "--split", "val", "--probe-per-style", "3",
                  "--json", str(tmp_path / "small.json"))
    assert small.returncode == 0, small.stderr
    quick = json.loads((tmp_path / "small.json").read_text())
    assert quick["train_real"] == 9 and single["train_real"] > 9 and quick["probe_per_style"] == 3
    assert quick["overall"]["fid"] == single["overall"]["fid"]  # only the probe changes
    zero = paint("eval", *common, "--model", str(ra), "--probe-per-style", "0")
    assert zero.returncode != 0 and "--probe-per-style" in zero.stderr + zero.stdout


# ---- per-pixel noise inputs in the generator ----------------------------------------------------------------------

def _noisy_pair() -> tuple[torch.nn.Module, torch.nn.Module]:
    from srgan_wgan.archs import CondGenerator

    cfg = dict(num_classes=3, z_dim=8, embed_dim=8, resolution=16, base_channels=32, min_channels=8)
    torch.manual_seed(0)
    plain = CondGenerator(**cfg)
    noisy = CondGenerator(**cfg, noise=True)
    return plain, noisy


def test_noise_inputs_start_silent_and_then_vary_the_image() -> None:
    """Zero strengths: the same images as the generator without noise (so a release fine-tunes into noise
    unchanged); with strengths, the noise maps change the image and the same maps give the same image."""
    plain, noisy = _noisy_pair()
    assert set(noisy.state_dict()) - set(plain.state_dict()) == {f"noise_strength.{k}" for k in range(4)}
    assert noisy.noise_shapes() == [(1, 8, 8), (1, 8, 8), (1, 16, 16), (1, 16, 16)]
    noisy.load_state_dict(plain.state_dict(), strict=False)
    z, y = torch.randn(4, 8), torch.tensor([0, 1, 2, 0])
    with torch.no_grad():
        torch.testing.assert_close(noisy(z, y), plain(z, y), rtol=0, atol=0)
        for s in noisy.noise_strength:
            s.fill_(0.5)
        maps = [torch.randn(4, *s) for s in noisy.noise_shapes()]
        a, b = noisy(z, y, noise=maps), noisy(z, y, noise=maps)
        c = noisy(z, y, noise=[torch.randn(4, *s) for s in noisy.noise_shapes()])
    assert torch.equal(a, b)
    assert (a - c).abs().mean() > 1e-3  # other noise, another image
    assert plain.noise_shapes() == []
    with pytest.raises(ValueError, match="noise maps"):
        noisy(z, y, noise=maps[:2])


def test_noise_strengths_learn_at_their_multiplier_and_runs_repeat(colour_folder, tmp_path) -> None:
    """The strengths have their own optimiser group (10x the generator's rate), leave zero in a few steps, and
    two runs with the same seed give bit-identical generators (the maps come from the engine's seeded stream)."""
    from srgan_wgan.archs.cond_generator import NOISE_LR_MULTIPLIER

    runs = []
    for name in ("a", "b"):
        t = _experiment(colour_folder, steps=3, noise=True).build(tmp_path / name, tensorboard=False)
        mults = sorted(g.get("lr_mult", 1.0) for g in t.opt_g.param_groups)
        assert mults == [1.0, NOISE_LR_MULTIPLIER]
        t.fit()
        runs.append(t)
    strengths = torch.cat(list(runs[0].G.noise_strength))
    assert torch.isfinite(strengths).all() and strengths.abs().max() > 0
    for (k, v), w in zip(runs[0].G.state_dict().items(), runs[1].G.state_dict().values()):
        assert torch.equal(v, w), k


def test_release_without_noise_fine_tunes_into_noise(colour_folder, tmp_path) -> None:
    """`paint finetune --noise` from a plain release: every weight loaded, strengths at zero (same images); the
    setting travels with the release, and per-sample seeding holds with noise (image i depends on (seed, i))."""
    from srgan_wgan.apps.paint import PaintGenerator, finetune_paint_experiment

    plain = _experiment(colour_folder).build(tmp_path / "plain", tensorboard=False)
    plain.fit()
    release = plain.export(tmp_path / "release")
    exp = finetune_paint_experiment(release, str(colour_folder), steps=3, batch_size=8, n_critic=1, device="cpu",
                                    amp="off", noise=True, lr_g=1e-3)
    ft = exp.build(tmp_path / "ft", tensorboard=False)
    assert all(s.abs().max() == 0 for s in ft.G.noise_strength)
    from srgan_wgan.io.weights import load_pretrained

    source = load_pretrained(release / "generator.safetensors")  # the release's (EMA) generator
    if ft.channels_last:  # same memory format, same kernels: bit-exact
        source.to(memory_format=torch.channels_last)
    z, y = torch.randn(2, 8), torch.tensor([0, 1])
    with torch.no_grad():
        torch.testing.assert_close(ft.G(z, y), source(z, y), rtol=0, atol=0)
    ft.fit()
    out = ft.export(tmp_path / "noisy")
    assert json.loads((out / "generator.json").read_text())["config"]["noise"] is True
    assert finetune_paint_experiment(out, str(colour_folder), steps=1).noise is True  # kept unless told
    assert finetune_paint_experiment(out, str(colour_folder), steps=1, noise=False).noise is False
    gen = PaintGenerator(out, "cpu", fp32=True)  # bf16 batch-shape rounding: tests/test_paint.py
    a = gen.generate(STYLES[1], n=3, seed=5)
    b = gen.generate(STYLES[1], n=6, seed=5, batch_size=4)
    torch.testing.assert_close(a, b[:3], rtol=0, atol=1e-6)  # float rounding of other batch shapes only
    assert (a[0] - a[1]).abs().mean() > 1e-3
    frames = gen.interpolate(STYLES[0], STYLES[0], steps=3, rows=2, seed=1)  # one style: the frames do not move
    assert torch.equal(frames[:, 0], frames[:, 2])
    cli = paint("finetune", "--from", str(release), "--data", str(colour_folder), "--steps", "1", "--batch-size",
                "4", "--n-critic", "1", "--noise", "--device", "cpu", "--run-dir", str(tmp_path / "cli"))
    assert cli.returncode == 0, cli.stderr
    info = json.loads((tmp_path / "cli" / "experiment.json").read_text())
    assert info["experiment"]["noise"] is True


# ---- the projected critic (issue 24) -----------------------------------------------------------------------------

@pytest.mark.shared
def test_projected_critic_trains_exports_and_loads_alone(colour_folder, tmp_path, shared_dir) -> None:
    from srgan_wgan.archs import ProjectedCritic
    from srgan_wgan.io.weights import load_pretrained

    exp = _experiment(colour_folder, steps=4, critic_arch="projected", critic_backbone="alexnet")
    exp.resolution = 32
    trainer = exp.build(tmp_path / "run", tensorboard=False)
    assert isinstance(trainer.D, ProjectedCritic) and trainer.D.config.num_classes == 3
    trained = {id(p) for g in trainer.opt_d.param_groups for p in g["params"]}
    assert trained == {id(p) for p in trainer.D.parameters()} and not list(trainer.D.features.parameters())
    assert len(list(trainer.D.features.buffers())) > 0  # the backbone is frozen into buffers, not trained
    trainer.fit()
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and all(np.isfinite(r["critic/penalty"]) and r["critic/penalty"] > 0 for r in rows)
    release = trainer.export(tmp_path / "release")
    D = load_pretrained(release / "critic.safetensors")
    x, y = torch.rand(2, 3, 32, 32) * 2 - 1, torch.tensor([0, 2])
    assert type(D).__name__ == "ProjectedCritic"
    from safetensors.torch import load_file

    stored = load_file(str(release / "critic.safetensors"))
    assert stored["ccm0"].dtype == torch.float32 and stored["heads.0.fc.weight"].dtype == torch.float16
    assert torch.equal(D.ccm0, trainer.D.ccm0.float()) and torch.equal(D.csm1, trainer.D.csm1.float())
    torch.testing.assert_close(D(x, y), trainer.D.float()(x, y), rtol=1e-2, atol=1e-2)  # fp16 release weights
    out = paint("export", "--run-dir", str(tmp_path / "run"), "--out", str(tmp_path / "cli"))
    assert out.returncode == 0, out.stderr
    from srgan_wgan.apps.paint import finetune_paint_experiment

    ft = finetune_paint_experiment(release, str(colour_folder), steps=1, batch_size=8, n_critic=1, device="cpu",
                                   amp="off").build(tmp_path / "ft", tensorboard=False)
    assert isinstance(ft.D, ProjectedCritic) and ft.D.config.backbone == "alexnet"
    torch.testing.assert_close(ft.D.heads[0].fc.weight, D.heads[0].fc.weight)  # the critic continues


def test_projected_critic_options_are_checked(colour_folder, tmp_path) -> None:
    for overrides, msg in [({"critic_arch": "transformer"}, "unknown critic"),
                           ({"critic_arch": "projected", "mbstd_group": 4}, "projected critic has no"),
                           ({"sle": True}, "64 px or more")]:  # _experiment is 16 px
        with pytest.raises(ConfigError, match=msg):
            _experiment(colour_folder, **overrides).validate()
    out = paint("train", "--data", str(colour_folder), "--critic-arch", "projected", "--critic-norm", "layer",
                "--resolution", "32", "--run-dir", str(tmp_path / "r"))
    assert out.returncode == 2 and "projected critic has no" in out.stderr and not (tmp_path / "r").exists()


def test_skip_layer_excitation_starts_neutral_then_learns(colour_folder, tmp_path) -> None:
    from srgan_wgan.archs import CondGenerator, CondGeneratorConfig

    cfg = CondGeneratorConfig(num_classes=3, z_dim=8, embed_dim=8, resolution=128, base_channels=32, min_channels=8)
    torch.manual_seed(0)
    plain = CondGenerator(cfg)
    sle = CondGenerator(CondGeneratorConfig(**{**cfg.__dict__, "sle": True}))
    assert sorted(sle.sle.keys()) == ["128", "64"]  # 4 -> 64 and 8 -> 128
    missing, unexpected = sle.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and missing and all(k.startswith("sle.") for k in missing)
    z, y = torch.randn(2, 8), torch.tensor([0, 2])
    torch.testing.assert_close(sle(z, y), plain(z, y), rtol=0, atol=0)  # a gate of exactly 1 at the start
    sle(z, y).square().mean().backward()
    assert sle.sle["64"].conv1.weight.grad.abs().sum() > 0
    # through a painting run: trained gates move the image away from the plain generator's
    exp = _experiment(colour_folder, steps=3, sle=True)
    exp.resolution = 64
    trainer = exp.build(tmp_path / "run", tensorboard=False)
    trainer.fit()
    assert trainer.G.sle["64"].conv1.weight.abs().sum() > 0
    assert CondGenerator(trainer.G.config).config.sle
