"""A resumable, seeded, infinite batch sampler.

Batch ``k`` holds positions ``[k*B, (k+1)*B)`` of epoch ``k // batches_per_epoch``'s permutation, and that
permutation comes from ``torch.Generator().manual_seed(seed + epoch)``. Each element is ``(index, seed_j)``
where ``seed_j`` is the per-sample augmentation seed of the ``j``-th sample drawn in the run, so data order and
augmentation depend only on ``(seed, k)``: not on workers, prefetching or where a run was resumed.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from srgan_wgan.utils.seed import sample_seed


class ResumableBatchSampler:
    """Infinite batch sampler yielding lists of ``(dataset_index, sample_seed)`` (drop-last per epoch)."""

    def __init__(self, num_items: int, batch_size: int, seed: int, start_batch: int = 0,
                 weights: torch.Tensor | None = None) -> None:
        """``weights`` (one per item): draw each epoch's items with replacement in proportion to them (e.g.
        ``1 / class_count`` for class-balanced sampling) instead of a permutation."""
        if num_items < 1:
            raise ValueError("cannot sample from an empty dataset")
        self.num_items = num_items
        self.batch_size = batch_size
        self.seed = seed
        self.start_batch = start_batch
        self.batches_per_epoch = max(1, num_items // batch_size)
        self.weights = None if weights is None else torch.as_tensor(weights, dtype=torch.float64)
        if self.weights is not None and (self.weights.shape != (num_items,) or not (self.weights >= 0).all()):
            raise ValueError("weights must be one non-negative value per item")

    def _permutation(self, epoch: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        if self.weights is not None:
            n = max(self.num_items, self.batch_size)
            return torch.multinomial(self.weights, n, replacement=True, generator=g)
        perm = torch.randperm(self.num_items, generator=g)
        if self.num_items < self.batch_size:  # tiny datasets: repeat to fill one batch
            reps = -(-self.batch_size // self.num_items)
            perm = perm.repeat(reps)
        return perm

    def batch(self, k: int) -> list[tuple[int, int]]:
        """The ``k``-th batch of the run."""
        epoch, within = divmod(k, self.batches_per_epoch)
        perm = self._permutation(epoch)
        idx = perm[within * self.batch_size : (within + 1) * self.batch_size].tolist()
        base = k * self.batch_size
        return [(int(i), sample_seed(self.seed, base + j)) for j, i in enumerate(idx)]

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        k = self.start_batch
        cached_epoch, perm = -1, None
        while True:
            epoch, within = divmod(k, self.batches_per_epoch)
            if epoch != cached_epoch:
                cached_epoch, perm = epoch, self._permutation(epoch)
            assert perm is not None
            idx = perm[within * self.batch_size : (within + 1) * self.batch_size].tolist()
            base = k * self.batch_size
            yield [(int(i), sample_seed(self.seed, base + j)) for j, i in enumerate(idx)]
            k += 1
