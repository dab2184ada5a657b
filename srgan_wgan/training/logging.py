"""Run-folder logging: JSONL metrics, TensorBoard scalars, sample grids and a loss-curve PNG."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import torch

from srgan_wgan.io.atomic import atomic_write

log = logging.getLogger("srgan_wgan")

METRIC_LABELS: dict[str, str] = {
    "critic/loss_penalised": "critic loss / W estimate (penalised)",
    "critic/w_estimate": "W estimate E[D(real)] - E[D(fake)] (not the Wasserstein distance)",
    "critic/penalty": "critic penalty (unweighted)",
    "gen/adv": "generator adversarial loss",
    "gen/total": "generator total loss",
}
"""Human labels used in plots and progress bars; the critic loss is never called the Wasserstein distance."""


class RunLogger:
    """Writes ``metrics.jsonl``, TensorBoard events (if installed), ``samples/*.png`` and ``loss_curve.png``."""

    def __init__(self, run_dir: Path, tensorboard: bool = True) -> None:
        self.run_dir = Path(run_dir)
        self.jsonl = self.run_dir / "metrics.jsonl"
        self._tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(log_dir=str(self.run_dir / "tb"))
            except Exception as exc:  # noqa: BLE001 - tensorboard is optional at run time
                log.warning("TensorBoard logging disabled: %s", exc)

    def truncate_after(self, step: int) -> None:
        """Drop JSONL records past ``step`` (after resuming from an earlier checkpoint)."""
        if not self.jsonl.exists():
            return
        kept = [line for line in self.jsonl.read_text().splitlines() if line and json.loads(line)["step"] <= step]
        with atomic_write(self.jsonl) as tmp:
            tmp.write_text("".join(line + "\n" for line in kept))

    def log_metrics(self, step: int, metrics: dict[str, float]) -> None:
        record = {"step": step, **{k: (float(v) if math.isfinite(float(v)) else None) for k, v in metrics.items()}}
        with open(self.jsonl, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
        if self._tb is not None:
            for k, v in metrics.items():
                if math.isfinite(float(v)):
                    self._tb.add_scalar(k, float(v), step)

    def history(self) -> list[dict[str, Any]]:
        if not self.jsonl.exists():
            return []
        return [json.loads(line) for line in self.jsonl.read_text().splitlines() if line]

    def save_grid(self, images: torch.Tensor, step: int, nrow: int = 8) -> Path:
        """Save ``images`` in ``[-1, 1]`` as ``samples/step_XXXXXXX.png`` (and to TensorBoard)."""
        from srgan_wgan.io.images import ImageData, encode_image, image_grid

        path = self.run_dir / "samples" / f"step_{step:07d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        grid = (images.detach().float().cpu().clamp(-1, 1) + 1) / 2
        data = encode_image(ImageData(image_grid(grid, nrow, pad_value=0.0)), ".png")
        with atomic_write(path) as tmp:
            tmp.write_bytes(data)
        if self._tb is not None:
            self._tb.add_images("samples", grid, step)
        return path

    def plot_losses(self) -> Path | None:
        """Plot every logged series against the step into ``loss_curve.png``."""
        rows = self.history()
        if not rows:
            return None
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        keys = sorted({k for r in rows for k in r if k != "step" and not k.startswith("time/")})
        fig, axes = plt.subplots(len(keys), 1, figsize=(7, 2.0 * len(keys)), sharex=True, squeeze=False)
        for ax, key in zip(axes[:, 0], keys):
            pts = [(r["step"], r[key]) for r in rows if r.get(key) is not None]
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], lw=1)
            ax.set_ylabel(METRIC_LABELS.get(key, key), fontsize=7)
            ax.grid(alpha=0.3)
        axes[-1, 0].set_xlabel("generator step")
        fig.tight_layout()
        path = self.run_dir / "loss_curve.png"
        with atomic_write(path) as tmp:
            fig.savefig(tmp, dpi=80, format="png")
        plt.close(fig)
        return path

    def close(self) -> None:
        if self._tb is not None:
            self._tb.flush()
            self._tb.close()
            self._tb = None
