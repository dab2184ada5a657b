"""Style-conditioned painting generation: a class-conditional WGAN over an ImageFolder of styles.

A thin layer over the shared core: :class:`~srgan_wgan.archs.CondGenerator`, a projection
:class:`~srgan_wgan.archs.ConvCritic` and :class:`~srgan_wgan.training.GANTrainer`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from srgan_wgan.apps.digits import ClassConditionalTask
from srgan_wgan.archs import CondGenerator, CondGeneratorConfig, ConvCritic, CriticConfig
from srgan_wgan.data.folders import DecodedFolder, decode_class_folders, scan_class_folders
from srgan_wgan.errors import UserError
from srgan_wgan.training import GANTrainConfig, GANTrainer
from srgan_wgan.utils.device import resolve_device
from srgan_wgan.utils.seed import seed_everything


class PaintingDataset(Dataset):
    """Decoded paintings as ``[-1, 1]`` floats, augmented from the per-sample seed: a horizontal flip and, with
    ``crop_scale < 1``, a random resized square crop covering ``crop_scale``..1 of the area (albumentations)."""

    def __init__(self, folder: DecodedFolder, flip: bool = True, balanced: bool = True,
                 single_class: bool = False, crop_scale: float = 1.0, group_size: int = 0) -> None:
        self.folder = folder
        self.flip = flip
        self.crop = None
        if crop_scale < 1.0:
            import albumentations as A

            r = folder.images.shape[-1]
            self.crop = A.Compose([A.RandomResizedCrop(size=(r, r), scale=(crop_scale, 1.0), ratio=(1.0, 1.0), p=1.0)])
        self.single_class = single_class
        """Every label is 0 (an unconditional model); the balanced sampling still follows the real styles."""
        self.class_names = folder.class_names
        counts = torch.bincount(folder.labels, minlength=len(folder.class_names)).double()
        self.sample_weights = (1.0 / counts[folder.labels]) if balanced else None
        """Class-balanced sampling: every style is drawn equally often, whatever its count."""
        self.sample_groups = (folder.labels, group_size) if group_size else None
        """Batches of same-style groups of ``group_size`` (for the critic's minibatch stddev), or None."""

    def __len__(self) -> int:
        return self.folder.images.shape[0]

    def __getitem__(self, item: tuple[int, int] | int) -> tuple[torch.Tensor, torch.Tensor]:
        index, seed = item if isinstance(item, tuple) else (item, 0)
        x = self.folder.images[index]
        if self.crop is not None:
            self.crop.set_random_seed(seed)
            x = torch.from_numpy(np.ascontiguousarray(self.crop(image=x.permute(1, 2, 0).numpy())["image"]))
            x = x.permute(2, 0, 1)
        x = x.float() / 127.5 - 1.0
        if self.flip and (seed & 1):
            x = x.flip(-1)
        return x, (torch.zeros((), dtype=torch.int64) if self.single_class else self.folder.labels[index])


@dataclass
class PaintExperiment:
    """A painting-generation training run (``paint train``); all fields are saved in the run and the weights."""

    data: str
    resolution: int = 64
    critic_norm: str = "none"
    base_channels: int = 64
    z_dim: int = 128
    embed_dim: int = 64
    holdout: float = 0.1
    critic_channels: int | None = None
    """Critic width at full resolution (doubling per level up to ``critic_max_channels``); None: base_channels."""
    critic_max_channels: int = 512
    crop_scale: float = 1.0
    """Random resized crops covering ``crop_scale``..1 of each painting (1 = whole painting, no crop)."""
    unconditional: bool = False
    """One class for every painting (the baseline that ``paint eval`` compares the conditional model with)."""
    init_from: str | None = None
    aux_backbone: str = "none"
    """Body of the auxiliary style classifier (with ``train.aux_class_weight``): ``none`` (a conv branch trained
    from scratch) or ``alexnet`` (a linear head on frozen ImageNet AlexNet features)."""
    mbstd_group: int = 0
    """Minibatch standard deviation in the critic, with this group size (0 = off; see :class:`CriticConfig`)."""
    noise: bool = False
    """Per-pixel noise inputs in the generator (StyleGAN; see :class:`CondGeneratorConfig`)."""
    mbstd_by_style: bool = False
    """Batches of same-style groups of ``mbstd_group`` paintings, so the critic's minibatch stddev compares the
    spread within a style (intra-style mode collapse), not across the styles of a mixed group."""
    train: GANTrainConfig = field(default_factory=GANTrainConfig)

    @property
    def aux_classifier(self) -> bool:
        """The critic carries an AC-GAN class head when the auxiliary loss is on (``train.aux_class_weight``)."""
        return self.train.aux_class_weight > 0 and not self.unconditional

    def validate(self) -> dict[str, list[Path]]:
        """Check the config and the data folder (nothing is written); returns the scanned classes."""
        self.train.validate(critic_norm=self.critic_norm)
        if not 0 <= self.holdout < 1:
            raise UserError(f"--holdout must be in [0, 1), got {self.holdout}")
        if not 0.1 <= self.crop_scale <= 1:
            raise UserError(f"--crop-scale must be in [0.1, 1], got {self.crop_scale}")
        if self.unconditional and self.init_from:
            raise UserError("an unconditional model is trained from scratch: drop --unconditional or --init-from")
        if self.unconditional and self.train.aux_class_weight > 0:
            raise UserError("an unconditional model has no styles to classify: drop --aux-class-weight")
        if self.mbstd_by_style:
            if self.unconditional:
                raise UserError("--mbstd-by-style groups paintings by style: an unconditional model has none")
            if self.mbstd_group < 2:
                raise UserError("--mbstd-by-style needs the critic's minibatch stddev: add --mbstd-group 4")
            if self.train.batch_size % self.mbstd_group:
                raise UserError(f"--mbstd-by-style: the group size ({self.mbstd_group}) must divide the batch size "
                                f"({self.train.batch_size})")
        if self.aux_backbone != "none" and not self.aux_classifier:
            raise UserError("--aux-backbone chooses the auxiliary classifier: it needs --aux-class-weight > 0")
        resolve_device(self.train.device)
        self.critic_config(2).validate()
        self.generator_config(2).validate()
        return scan_class_folders(self.data)

    def generator_config(self, num_classes: int) -> CondGeneratorConfig:
        return CondGeneratorConfig(
            num_classes=num_classes, z_dim=self.z_dim, embed_dim=self.embed_dim, resolution=self.resolution,
            out_channels=3, base_channels=self.base_channels * 4, min_channels=self.base_channels, noise=self.noise,
        )

    def critic_config(self, num_classes: int) -> CriticConfig:
        return CriticConfig(
            in_channels=3, resolution=self.resolution, base_channels=self.critic_channels or self.base_channels,
            max_channels=self.critic_max_channels, cond="none" if self.unconditional else "class",
            num_classes=0 if self.unconditional else num_classes, norm=self.critic_norm,
            aux_classifier=self.aux_classifier, aux_backbone=self.aux_backbone, mbstd_group=self.mbstd_group,
        )

    def build(self, run_dir: str | Path, folder: DecodedFolder | None = None, tensorboard: bool = True) -> GANTrainer:
        """Decode the data (unless given), seed, and build models and trainer."""
        classes = self.validate()
        if folder is None:  # the held-out split (file-name hash, per style) is never trained on
            folder = decode_class_folders(self.data, self.resolution, split_classes(classes, self.holdout)[0])
        seed_everything(self.train.seed)
        names, counts = folder.class_names, folder.class_counts
        if self.unconditional:
            names, counts = [UNCONDITIONAL_STYLE], {UNCONDITIONAL_STYLE: int(folder.labels.numel())}
        G = CondGenerator(self.generator_config(len(names)))
        D = ConvCritic(self.critic_config(len(names)))
        if self.init_from:
            load_release_for_finetune(self.init_from, G, D, folder.class_names)
        task = PaintTask(names, counts, asdict(self), unconditional=self.unconditional)
        dataset = PaintingDataset(folder, single_class=self.unconditional, crop_scale=self.crop_scale,
                                  group_size=self.mbstd_group if self.mbstd_by_style else 0)
        trainer = GANTrainer(G, D, task, dataset, self.train, run_dir, tensorboard=tensorboard)
        save_run_info(self, names, counts, run_dir)
        return trainer


RUN_INFO_FILE = "experiment.json"
"""Written into every painting run folder: what :func:`export_paint_run` needs to rebuild the models."""


def save_run_info(exp: PaintExperiment, names: list[str], counts: dict[str, int], run_dir: str | Path) -> None:
    """Write the experiment and its style names/counts as ``run_dir/experiment.json`` (atomically)."""
    import json

    from srgan_wgan.io.atomic import atomic_write
    from srgan_wgan.utils.distributed import is_main_process

    if not is_main_process():  # torchrun: rank 0 writes the run folder
        return
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    with atomic_write(Path(run_dir) / RUN_INFO_FILE) as tmp:
        tmp.write_text(json.dumps({"experiment": asdict(exp), "class_names": names, "class_counts": counts},
                                  indent=1, default=list))


def export_paint_run(run_dir: str | Path, out_dir: str | Path, checkpoint: str | Path | None = None) -> int:
    """Release weights (EMA generator, raw generator, critic) from a painting run's ``resume.pt`` (or another
    checkpoint file of the run, e.g. a kept copy of an earlier step) without loading data. Returns its step."""
    import json

    from srgan_wgan.training.checkpoint import RESUME_FILE, load_resume_state
    from srgan_wgan.training.engine import export_release_state

    run_dir = Path(run_dir)
    info_file = run_dir / RUN_INFO_FILE
    if not info_file.is_file():
        raise UserError(f"{info_file}: not found (is {run_dir} a `paint train` run folder?)")
    ckpt = Path(checkpoint) if checkpoint is not None else run_dir / RESUME_FILE
    if not ckpt.is_file():
        raise UserError(f"{ckpt}: no checkpoint")
    info = json.loads(info_file.read_text())
    raw = dict(info["experiment"])
    train = raw.pop("train")
    train["betas"] = tuple(train["betas"])
    exp = PaintExperiment(**raw, train=GANTrainConfig(**train))
    names, counts = list(info["class_names"]), dict(info["class_counts"])
    task = PaintTask(names, counts, raw, unconditional=exp.unconditional)
    G, D = CondGenerator(exp.generator_config(len(names))), ConvCritic(exp.critic_config(len(names)))
    extra = {**task.release_extra(), "penalty": exp.train.penalty}
    return export_release_state(load_resume_state(ckpt), G, D, extra, out_dir)


class PaintTask(ClassConditionalTask):
    """Class-conditional task whose release weights carry the style names and their training counts."""

    def __init__(self, class_names: list[str], counts: dict[str, int], experiment: dict[str, Any],
                 unconditional: bool = False) -> None:
        super().__init__(class_names, grid_per_class=min(8, max(1, 64 // len(class_names))))
        self.counts = counts
        self.experiment = experiment
        self.unconditional = unconditional

    def release_extra(self) -> dict[str, Any]:
        return {**super().release_extra(), "task": "paint", "class_counts": self.counts,
                "unconditional": self.unconditional}


PAINT_MODELS: tuple[str, ...] = ("wikiart-64",)
DEFAULT_PAINT_MODEL = "wikiart-64"
UNCONDITIONAL_STYLE = "any"
"""The single style name of an unconditional model (``paint train --unconditional``)."""


def normalize_style(name: str) -> str:
    """Case- and separator-insensitive key: ``"Ukiyo-e"``, ``"ukiyo_e"`` and ``"UKIYO E"`` all give ``"ukiyoe"``."""
    return "".join(ch for ch in name.casefold() if ch.isalnum())


def truncated_normal(shape: tuple[int, ...], generator: torch.Generator, truncation: float | None) -> torch.Tensor:
    """Standard normal samples; with ``truncation`` T, values with ``|z| > T`` are redrawn (BigGAN's trick)."""
    z = torch.randn(shape, generator=generator)
    if truncation is None:
        return z
    if truncation <= 0:
        raise UserError(f"--truncation must be > 0, got {truncation}")
    for _ in range(100):
        bad = z.abs() > truncation
        if not bad.any():
            break
        z[bad] = torch.randn(int(bad.sum()), generator=generator)
    return z.clamp(-truncation, truncation)


class PaintGenerator:
    """Generate paintings of a style from released weights (``paint generate`` / ``styles`` / ``interpolate``).

    Each sample ``i`` of a call seeded with ``seed`` draws its latent from its own generator
    (:func:`~srgan_wgan.utils.seed.sample_seed`), so an image depends only on ``(seed, i, style)``, never on ``n``
    or the batch size: bit-exactly in fp32; in bf16 the kernels oneDNN picks depend on the batch shape, so another
    batch size agrees within bf16 rounding (at most 2/255 in the tests) and the same call repeats bit-exactly.

    The generator runs under bf16 autocast where the device computes bf16 natively (CUDA, CPUs with AMX /
    AVX512-BF16), in fp32 elsewhere or with ``fp32=True``.
    """

    def __init__(self, model: str | Path = DEFAULT_PAINT_MODEL, device: str = "auto", fp32: bool = False,
                 backend: str = "torch") -> None:
        from srgan_wgan.io.hub import resolve_weights
        from srgan_wgan.io.weights import load_pretrained

        if backend not in ("torch", "onnx"):
            raise UserError(f"--backend must be torch or onnx, got {backend!r}")
        self.path = resolve_weights(model, PAINT_MODELS)
        if self.path.suffix == ".onnx" and backend != "onnx":
            raise UserError(f"{self.path}: an ONNX file needs --backend onnx")
        self.backend = backend
        self.device = resolve_device(device) if backend == "torch" else torch.device("cpu")
        if backend == "onnx":  # onnxruntime on CPU, fp32 (srgan_wgan.io.onnx)
            from srgan_wgan.io.onnx import resolve_onnx

            self.G = resolve_onnx(self.path, "CondGenerator")
            fp32 = True
        else:
            self.G = load_pretrained(self.path, expected_arch="CondGenerator", device=self.device)
        extra = self.G.weights_metadata["extra"]
        self.styles: list[str] = list(extra.get("class_names") or [str(i) for i in range(self.G.config.num_classes)])
        self.counts: dict[str, int] = dict(extra.get("class_counts") or {})
        self.unconditional = bool(extra.get("unconditional", False))
        from srgan_wgan.utils.precision import inference_precision

        self.precision = inference_precision(self.device, fp32)

    def style_index(self, style: str) -> int:
        """Index of ``style`` (normalised match); :class:`UserError` listing the valid styles otherwise."""
        key = normalize_style(style)
        for i, s in enumerate(self.styles):
            if normalize_style(s) == key:
                return i
        raise UserError(f"unknown style {style!r}; this model has: {', '.join(self.styles)}")

    def latents(self, n: int, seed: int, truncation: float | None = None, start: int = 0) -> torch.Tensor:
        from srgan_wgan.utils.seed import sample_seed

        if n < 1:
            raise UserError(f"-n must be at least 1, got {n}")
        zs = [truncated_normal((self.G.z_dim,), torch.Generator().manual_seed(sample_seed(seed, i)), truncation)
              for i in range(start, start + n)]
        return torch.stack(zs)

    def noise(self, n: int, seed: int, start: int = 0) -> list[torch.Tensor]:
        """The generator's per-pixel noise maps for samples ``start..start+n`` (each from its own seed, stream
        ``"noise"``); an empty list for a generator without noise inputs."""
        from srgan_wgan.utils.seed import sample_seed

        if not self.G.noise_shapes():
            return []
        per_sample = [self.G.draw_noise(1, torch.Generator().manual_seed(sample_seed(seed, i, "noise")))
                      for i in range(start, start + n)]
        return [torch.cat(maps) for maps in zip(*per_sample)]

    @torch.no_grad()
    def generate(self, style: str, n: int = 16, seed: int = 0, truncation: float | None = None,
                 batch_size: int = 64) -> torch.Tensor:
        """``(n, 3, r, r)`` images in ``[0, 1]``."""
        y = self.style_index(style)
        z = self.latents(n, seed, truncation)
        noise = self.noise(n, seed)
        out = []
        for i in range(0, n, batch_size):
            zb = z[i : i + batch_size].to(self.device)
            nb = [m[i : i + batch_size].to(self.device) for m in noise] or None
            with self.precision.autocast():
                fake = self.G(zb, torch.full((zb.shape[0],), y, device=self.device), noise=nb)
            out.append(fake.float().clamp(-1, 1).cpu())
        return (torch.cat(out) + 1) / 2

    @torch.no_grad()
    def interpolate(self, style_a: str, style_b: str, steps: int = 8, seed: int = 0, rows: int = 4,
                    truncation: float | None = None) -> torch.Tensor:
        """``(rows, steps, 3, r, r)``: each row one latent, its style embedding moving linearly from a to b."""
        if steps < 2:
            raise UserError(f"--steps must be at least 2, got {steps}")
        ea, eb = (self.G.embed.weight[self.style_index(s)] for s in (style_a, style_b))
        t = torch.linspace(0, 1, steps, device=self.device)[:, None]
        emb = (1 - t) * ea + t * eb
        z = self.latents(rows, seed, truncation).to(self.device)
        noise = self.noise(rows, seed)
        frames = []
        for r in range(rows):  # a row keeps its latent and noise: only the style moves
            zr = z[r : r + 1].expand(steps, -1)
            nr = [m[r : r + 1].expand(steps, -1, -1, -1).to(self.device) for m in noise] or None
            with self.precision.autocast():
                fake = self.G(zr, torch.zeros(steps, dtype=torch.long, device=self.device), embedding=emb, noise=nr)
            frames.append(fake.float().clamp(-1, 1))
        return (torch.stack(frames).cpu() + 1) / 2


def match_style_folders(styles: list[str], classes: dict[str, list[Path]]) -> tuple[dict[str, list[Path]], list[str]]:
    """The files of each of ``styles`` whose sub-folder exists (names matched as :func:`normalize_style` does), in
    the order of ``styles``, and the styles that have no sub-folder."""
    by_key = {normalize_style(k): k for k in classes}
    found = {s: classes[by_key[normalize_style(s)]] for s in styles if normalize_style(s) in by_key}
    return found, [s for s in styles if s not in found]


def split_classes(classes: dict[str, list[Path]], holdout: float) -> tuple[dict[str, list[Path]], dict[str, list[Path]]]:
    """Per style, a file-name-hash split into (training, held-out) files."""
    from srgan_wgan.data.faces import split_by_hash

    train, test = {}, {}
    for name, files in classes.items():
        train[name], test[name] = split_by_hash(files, holdout)
    return train, test


EVAL_SPLITS: tuple[str, ...] = ("test", "val")
VAL_SALT = "paint-val"
"""Hash salt of the validation split: ``holdout`` of each style's *training* files, independent of the test split."""


def eval_split(files: dict[str, list[Path]], holdout: float, split: str = "test"
               ) -> tuple[dict[str, list[Path]], dict[str, list[Path]]]:
    """``(probe_files, eval_files)`` per style. ``test``: the held-out split that training never sees, the probe fitted
    on the training split. ``val``: a share ``holdout`` of the training split (for choosing checkpoints and settings),
    the probe fitted on the rest of it; the test split is not read."""
    if split not in EVAL_SPLITS:
        raise UserError(f"unknown split {split!r}; choose one of {', '.join(EVAL_SPLITS)}")
    train, test = split_classes(files, holdout)
    if split == "test":
        return train, test
    from srgan_wgan.data.faces import split_by_hash

    fit, val = {}, {}
    for name, fs in train.items():
        fit[name], val[name] = split_by_hash(fs, holdout, salt=VAL_SALT)
    return fit, val


class _PaintReference:
    """The real side of an evaluation, computed once and shared by every model compared on the same styles: the
    decoded evaluation split, its Inception features and LPIPS diversities, and (when asked) the style probe."""

    def __init__(self, data: str | Path, files: dict[str, list[Path]], res: int, holdout: float, split: str,
                 device: torch.device, lpips: torch.nn.Module, inception: torch.nn.Module | None,
                 probe_per_style: int | None = None) -> None:
        from srgan_wgan.gan_metrics import inception_features, lpips_diversity

        self.data, self.res, self.device = data, res, device
        self.styles = list(files)
        self.fit_files, eval_files = eval_split(files, holdout, split)
        if probe_per_style is not None:  # the first N of each style's probe files (in the scan's sorted order)
            self.fit_files = {k: v[:probe_per_style] for k, v in self.fit_files.items()}
        self.test = decode_class_folders(data, res, eval_files)
        self.real = self.test.images.float() / 255
        self.f_real = (inception_features(inception, self.real, device=device) if inception is not None else None)
        self.div_real = {}
        for k, s in enumerate(self.styles):
            rm = self.test.labels == k
            self.div_real[s] = lpips_diversity(self.real[rm], lpips, device=device) if rm.sum() > 1 else None
        self.div_real_mixed = lpips_diversity(self.real, lpips, device=device)
        self._probe: Any = None
        self.pred_real: torch.Tensor | None = None
        self.train_decoded: int | None = None

    def probe(self) -> Any:
        """The style probe, fitted on the probe files on first use (with its predictions on the evaluation split)."""
        if self._probe is None:
            from srgan_wgan.gan_metrics import StyleProbe

            train = decode_class_folders(self.data, self.res, self.fit_files)
            self.train_decoded = int(train.images.shape[0])
            self._probe = StyleProbe(self.device, resolution=self.res).fit(
                train.images.float() / 255, train.labels, len(self.styles))
            self.pred_real = self._probe.predict(self.real)
        return self._probe


@torch.no_grad()
def evaluate_paint_models(models: list[str | Path], data: str | Path, n_per_style: int = 100, holdout: float = 0.1,
                          device: str = "auto", seed: int = 0, split: str = "test",
                          probe_per_style: int | None = None, fp32: bool = False) -> list[dict[str, Any]]:
    """:func:`evaluate_paint` for several models; the real paintings' features and the probe are computed once.
    ``probe_per_style`` caps the probe's training paintings per style (a quicker, weaker probe); ``fp32`` runs the
    generators in fp32 (default: bf16 where native, as ``paint generate``)."""
    import logging

    from srgan_wgan.gan_metrics import (
        frechet_distance,
        inception_features,
        kernel_inception_distance,
        load_fid_inception,
        lpips_diversity,
    )
    from srgan_wgan.losses.perceptual import LPIPS

    log = logging.getLogger("srgan_wgan")
    if split not in EVAL_SPLITS:
        raise UserError(f"unknown split {split!r}; choose one of {', '.join(EVAL_SPLITS)}")
    classes = scan_class_folders(data)
    dev = resolve_device(device)
    lp = LPIPS("alex").to(dev)
    inception = load_fid_inception(dev)
    refs: dict[tuple[Any, ...], _PaintReference] = {}
    results = []
    for model in models:
        gen = PaintGenerator(model, device, fp32=fp32)
        res = gen.G.config.resolution
        if gen.unconditional:  # compared with every style of the data folder
            files = classes
        else:
            files, missing = match_style_folders(gen.styles, classes)
            if not files:
                raise UserError(f"none of the model's styles ({', '.join(gen.styles)}) is a sub-folder of {data}")
            if missing:
                log.warning("styles without data, skipped: %s", ", ".join(missing))
        key = (tuple(files), res)
        if key not in refs:
            refs[key] = _PaintReference(data, files, res, holdout, split, dev, lp, inception, probe_per_style)
        ref = refs[key]
        styles, test, real = ref.styles, ref.test, ref.real
        pred_real = pred_fake = fake_labels = None
        if gen.unconditional:
            fake = gen.generate(gen.styles[0], n_per_style * len(styles), seed=seed)
        else:
            fake = torch.cat([gen.generate(s, n_per_style, seed=seed) for s in styles])
            fake_labels = torch.arange(len(styles)).repeat_interleave(n_per_style)
            pred_fake = ref.probe().predict(fake)  # style accuracy needs styles: the probe never sees eval files
            pred_real = ref.pred_real
        f_real = ref.f_real
        f_fake = inception_features(inception, fake, device=dev) if inception is not None else None

        def acc(pred: torch.Tensor | None, labels: torch.Tensor | None, k: int | None = None) -> float | None:
            if pred is None or labels is None:
                return None
            mask = torch.ones_like(labels, dtype=torch.bool) if k is None else labels == k
            return float((pred[mask] == labels[mask]).double().mean()) if mask.any() else None

        per_style: dict[str, dict[str, Any]] = {}
        for k, s in enumerate(styles):
            rm = test.labels == k
            row: dict[str, Any] = {
                "real_heldout": int(rm.sum()),
                "style_acc_real": acc(pred_real, test.labels, k),
                "style_acc_generated": acc(pred_fake, fake_labels, k),
                "lpips_div_real": ref.div_real[s],
            }
            if fake_labels is not None:
                fm = fake_labels == k
                row["lpips_div_generated"] = lpips_diversity(fake[fm], lp, device=dev)
                if f_real is not None and f_fake is not None and rm.sum() > 1:
                    row["fid"] = frechet_distance(f_fake[fm.numpy()], f_real[rm.numpy()])
                    row["kid"] = kernel_inception_distance(f_fake[fm.numpy()], f_real[rm.numpy()], subsets=20)
            per_style[s] = row
        real_divs = [r["lpips_div_real"] for r in per_style.values() if r["lpips_div_real"] is not None]
        overall: dict[str, Any] = {
            "style_acc_real": acc(pred_real, test.labels),
            "style_acc_generated": acc(pred_fake, fake_labels),
            "lpips_div_real": float(np.mean(real_divs)) if real_divs else None,
            "lpips_div_generated": (float(np.mean([r["lpips_div_generated"] for r in per_style.values()]))
                                    if fake_labels is not None else None),
            # all styles mixed: the only diversity an unconditional model has (reported for both kinds)
            "lpips_div_real_mixed": ref.div_real_mixed,
            "lpips_div_generated_mixed": lpips_diversity(fake, lp, device=dev),
            "fid": frechet_distance(f_fake, f_real) if f_real is not None and f_fake is not None else None,
            "kid": kernel_inception_distance(f_fake, f_real) if f_real is not None and f_fake is not None else None,
        }
        results.append({
            "model": str(gen.path), "data": str(data), "split": split, "resolution": res,
            "n_per_style": n_per_style, "unconditional": gen.unconditional, "holdout": holdout,
            "probe_per_style": probe_per_style,
            "train_files": sum(len(v) for v in ref.fit_files.values()),
            "train_real": None if gen.unconditional else ref.train_decoded,
            "heldout_real": int(test.images.shape[0]),
            "fid_available": f_real is not None, "overall": overall, "per_style": per_style,
        })
    return results


def evaluate_paint(model: str | Path, data: str | Path, n_per_style: int = 100, holdout: float = 0.1,
                   device: str = "auto", seed: int = 0, split: str = "test", fp32: bool = False) -> dict[str, Any]:
    """Per style and overall: FID/KID vs the evaluation split's real paintings (``test``: held out from training;
    ``val``: a part of the training split, see :func:`eval_split`), style accuracy of generated vs real under a probe
    trained on the other training paintings, and intra-style LPIPS diversity of generated vs real."""
    return evaluate_paint_models([model], data, n_per_style, holdout, device, seed, split, fp32=fp32)[0]


def _expand_class_rows(old: torch.Tensor, old_names: list[str], new_names: list[str]) -> torch.Tensor:
    """Rows for ``new_names``: a style's own row when the model knew it (names matched loosely), else the mean."""
    index = {normalize_style(n): i for i, n in enumerate(old_names)}
    mean = old.mean(0)
    return torch.stack([old[index[normalize_style(n)]] if normalize_style(n) in index else mean for n in new_names])


def load_release_for_finetune(source: str | Path, G: torch.nn.Module, D: torch.nn.Module | None,
                              new_names: list[str]) -> dict[str, int]:
    """Initialise ``G`` (and ``D``) from released weights whose styles may differ from ``new_names``.

    Everything is copied except the per-style tables (generator and projection-critic embeddings), which are
    rebuilt row by row: known styles keep their learned row, new styles start from the mean. Returns counts of
    ``{"kept": k, "new": n}`` styles.
    """
    from srgan_wgan.io.hub import resolve_weights
    from srgan_wgan.io.weights import init_from_release, read_weights_metadata

    g_file = resolve_weights(source, PAINT_MODELS)
    meta = read_weights_metadata(g_file)
    old_names = list(meta["extra"].get("class_names") or [])
    if meta["arch"] != "CondGenerator" or not old_names:
        raise UserError(f"{g_file}: not a painting generator with style names")

    def rows(key: str, v: torch.Tensor) -> torch.Tensor:
        per_class = ("embed" in key and v.dim() == 2) or key.startswith("classifier.")
        if per_class and v.shape[0] == len(old_names):
            return _expand_class_rows(v, old_names, new_names)
        return v

    init_from_release(g_file, G, D, remap=rows)
    kept = sum(normalize_style(n) in {normalize_style(o) for o in old_names} for n in new_names)
    return {"kept": kept, "new": len(new_names) - kept}


def finetune_paint_experiment(source: str | Path, data: str, steps: int, crop_scale: float = 1.0,
                              aux_backbone: str = "none", mbstd_group: int | None = None, noise: bool | None = None,
                              mbstd_by_style: bool = False, **train_overrides: Any) -> PaintExperiment:
    """A :class:`PaintExperiment` with the source model's architecture, for ``paint finetune``; keyword arguments
    other than ``crop_scale``, ``aux_backbone``, ``mbstd_group`` (None: the source critic's), ``noise`` (None: the
    source generator's) and ``mbstd_by_style`` are
    :class:`GANTrainConfig` fields."""
    from srgan_wgan.io.hub import resolve_weights
    from srgan_wgan.io.weights import read_weights_metadata

    g_file = resolve_weights(source, PAINT_MODELS)
    meta = read_weights_metadata(g_file)
    if meta["extra"].get("unconditional"):
        raise UserError(f"{g_file}: an unconditional baseline has no styles to adapt; fine-tune a conditional model")
    cfg = meta["config"]
    c_file = g_file.parent / "critic.safetensors"
    critic = read_weights_metadata(c_file)["config"] if c_file.is_file() else {}
    train = GANTrainConfig(steps=steps, **{"lr_g": 5e-5, "lr_d": 5e-5, **train_overrides})
    return PaintExperiment(data=data, resolution=cfg["resolution"], critic_norm=critic.get("norm", "none"),
                           base_channels=cfg["min_channels"], z_dim=cfg["z_dim"], embed_dim=cfg["embed_dim"],
                           critic_channels=critic.get("base_channels"),
                           critic_max_channels=critic.get("max_channels", 512), crop_scale=crop_scale,
                           init_from=str(g_file.parent), aux_backbone=aux_backbone,
                           mbstd_group=critic.get("mbstd_group", 0) if mbstd_group is None else mbstd_group,
                           noise=bool(cfg.get("noise", False)) if noise is None else noise,
                           mbstd_by_style=mbstd_by_style, train=train)
