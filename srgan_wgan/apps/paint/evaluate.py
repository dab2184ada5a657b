"""``paint eval``: FID / KID, style accuracy and within-style LPIPS diversity against the held-out paintings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from srgan_wgan.apps.paint.data import EVAL_SPLITS, eval_split, match_style_folders
from srgan_wgan.apps.paint.inference import PaintGenerator
from srgan_wgan.data.folders import decode_class_folders, scan_class_folders
from srgan_wgan.errors import UserError
from srgan_wgan.utils.device import resolve_device


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
        self._train: Any = None
        self._floor: dict[str, float | None] | None = None
        self.f_train: np.ndarray | None = None
        self.pred_real: torch.Tensor | None = None
        self.train_decoded: int | None = None

    def train_set(self) -> Any:
        """The training-side paintings (the probe's files), decoded on first use."""
        if self._train is None:
            self._train = decode_class_folders(self.data, self.res, self.fit_files)
            self.train_decoded = int(self._train.images.shape[0])
        return self._train

    def probe(self) -> Any:
        """The style probe, fitted on the probe files on first use (with its predictions on the evaluation split)."""
        if self._probe is None:
            from srgan_wgan.gan_metrics import StyleProbe

            train = self.train_set()
            self._probe = StyleProbe(self.device, resolution=self.res).fit(
                train.images.float() / 255, train.labels, len(self.styles))
            self.pred_real = self._probe.predict(self.real)
        return self._probe

    def real_floor(self, inception: torch.nn.Module | None) -> dict[str, float | None]:
        """FID and KID of training paintings against the evaluation split: what a perfect generator would score
        on sets this size (FID is biased upwards on small sets)."""
        if self._floor is None:
            from srgan_wgan.gan_metrics import frechet_distance, inception_features, kernel_inception_distance

            self._floor = {"fid_real_floor": None, "kid_real_floor": None}
            if inception is not None and self.f_real is not None:
                f_train = inception_features(inception, self.train_set().images.float() / 255, device=self.device)
                self.f_train = f_train
                self._floor = {"fid_real_floor": frechet_distance(f_train, self.f_real),
                               "kid_real_floor": kernel_inception_distance(f_train, self.f_real)}
        return self._floor

    def memorisation(self, fake: torch.Tensor, fake_labels: torch.Tensor | None, per_style: int,
                     lpips: torch.nn.Module) -> dict[str, float | None]:
        """Median LPIPS from generated paintings, and from evaluation paintings, to their nearest training painting
        of the same style (all styles for an unconditional model): copies of the training set score lower than the
        unseen real paintings do."""
        from srgan_wgan.gan_metrics import nearest_lpips

        train = self.train_set()
        gen_d, test_d = [], []
        for k in range(len(self.styles)):
            refs = train.images[train.labels == k].float() / 255 if fake_labels is not None else \
                train.images.float() / 255
            if refs.shape[0] == 0:
                continue
            f = fake[fake_labels == k] if fake_labels is not None else fake[k * per_style:(k + 1) * per_style]
            t = self.real[self.test.labels == k]
            gen_d.append(nearest_lpips(f[:per_style], refs, lpips, device=self.device))
            test_d.append(nearest_lpips(t[:per_style], refs, lpips, device=self.device))
        if not gen_d:
            return {"nn_lpips_generated": None, "nn_lpips_test": None}
        return {"nn_lpips_generated": float(torch.cat(gen_d).median()),
                "nn_lpips_test": float(torch.cat(test_d).median()) if sum(map(len, test_d)) else None}


@torch.no_grad()
def evaluate_paint_models(models: list[str | Path], data: str | Path, n_per_style: int = 100, holdout: float = 0.1,
                          device: str = "auto", seed: int = 0, split: str = "test",
                          probe_per_style: int | None = None, fp32: bool = False,
                          memorisation_per_style: int = 20) -> list[dict[str, Any]]:
    """``paint eval`` of several models; the real paintings' features and the probe are computed once.
    ``probe_per_style`` caps the probe's training paintings per style (a quicker, weaker probe); ``fp32`` runs the
    generators in fp32 (default: bf16 where native, as ``paint generate``). Besides FID/KID (with the real-vs-real
    floor), style accuracy and diversity, it reports precision/recall on Inception features and the memorisation
    check on ``memorisation_per_style`` generated and held-out paintings per style."""
    import logging

    from srgan_wgan.gan_metrics import (
        frechet_distance,
        inception_features,
        kernel_inception_distance,
        load_fid_inception,
        lpips_diversity,
        precision_recall,
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
        styles, test = ref.styles, ref.test
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
            **ref.real_floor(inception),
            **ref.memorisation(fake, fake_labels, min(n_per_style, memorisation_per_style), lp),
        }
        pr = (precision_recall(f_real, f_fake) if f_real is not None and f_fake is not None
              and min(len(f_real), len(f_fake)) > 3 else (None, None))
        overall["precision"], overall["recall"] = pr
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
