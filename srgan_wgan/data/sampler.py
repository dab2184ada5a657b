"""A resumable, seeded, infinite batch sampler.

Batch ``k`` holds positions ``[k*B, (k+1)*B)`` of epoch ``k // batches_per_epoch``'s permutation, and that
permutation comes from ``torch.Generator().manual_seed(seed + epoch)``. Each element is ``(index, seed_j)``
where ``seed_j`` is the per-sample augmentation seed of the ``j``-th sample drawn in the run, so data order and
augmentation depend only on ``(seed, k)``: not on workers, prefetching or where a run was resumed.

With ``groups=(labels, G)`` every batch is ``B / G`` groups of ``G`` items of one class each, item ``j`` of group
``s`` at position ``j * (B / G) + s`` (the layout in which :func:`~srgan_wgan.archs.critic.minibatch_stddev` groups
samples): a critic's minibatch standard deviation then measures the spread *within* a class, so a conditional
generator that draws one picture per class is told apart even when it draws different pictures for different
classes. The classes of a batch are distinct while there are enough of them, drawn in proportion to the summed
item ``weights`` (class-balanced when the weights are ``1 / class_count``); items uniformly within their class.

Distributed training (``world_size`` W > 1): ``batch_size`` is the *global* batch, the same for every W, and rank
``r`` takes positions ``[r*B/W, (r+1)*B/W)`` of it, each with the sample seed of its global position. The ranks'
shares are disjoint and together are exactly the one-process batch, so a run on W processes sees the same samples
with the same augmentations in the same order as on one. With ``groups`` a rank takes whole groups (groups
``[r*n/W, (r+1)*n/W)`` of the batch's ``n``, in the same interleaved layout), so ``B`` and ``n`` must divide by W.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from srgan_wgan.utils.seed import sample_seed


class ResumableBatchSampler:
    """Infinite batch sampler yielding lists of ``(dataset_index, sample_seed)`` (drop-last per epoch)."""

    def __init__(self, num_items: int, batch_size: int, seed: int, start_batch: int = 0,
                 weights: torch.Tensor | None = None, groups: tuple[torch.Tensor, int] | None = None,
                 rank: int = 0, world_size: int = 1) -> None:
        """``weights`` (one per item): draw each epoch's items with replacement in proportion to them (e.g.
        ``1 / class_count`` for class-balanced sampling) instead of a permutation. ``groups``: ``(labels, G)``,
        batches of same-class groups of ``G`` (see the module docstring); ``G`` must divide the batch size.
        ``rank`` / ``world_size``: this process's share of each global batch (module docstring)."""
        if num_items < 1:
            raise ValueError("cannot sample from an empty dataset")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in a world of {world_size} processes")
        if batch_size % world_size:
            raise ValueError(f"the batch size ({batch_size}) must divide by the number of processes ({world_size})")
        if groups is not None and (batch_size // int(groups[1])) % world_size:
            raise ValueError(f"the {batch_size // int(groups[1])} groups of a batch must divide by the number of "
                             f"processes ({world_size})")
        self.rank, self.world_size = rank, world_size
        self.num_items = num_items
        self.batch_size = batch_size
        self.seed = seed
        self.start_batch = start_batch
        self.batches_per_epoch = max(1, num_items // batch_size)
        self.weights = None if weights is None else torch.as_tensor(weights, dtype=torch.float64)
        if self.weights is not None and (self.weights.shape != (num_items,) or not (self.weights >= 0).all()):
            raise ValueError("weights must be one non-negative value per item")
        self.groups: tuple[list[torch.Tensor], torch.Tensor, int] | None = None
        if groups is not None:
            labels, g = torch.as_tensor(groups[0], dtype=torch.int64), int(groups[1])
            if labels.shape != (num_items,):
                raise ValueError("groups need one label per item")
            if g < 1 or batch_size % g:
                raise ValueError(f"the group size ({g}) must divide the batch size ({batch_size})")
            w = torch.ones(num_items, dtype=torch.float64) if self.weights is None else self.weights
            k = int(labels.max()) + 1
            members = [torch.nonzero(labels == c).flatten() for c in range(k)]
            class_w = torch.zeros(k, dtype=torch.float64).index_add_(0, labels, w)
            if not (class_w > 0).any():
                raise ValueError("no class has a positive weight")
            self.groups = (members, class_w, g)

    def _permutation(self, epoch: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        if self.groups is not None:
            return self._grouped(g)
        if self.weights is not None:
            n = max(self.num_items, self.batch_size)
            return torch.multinomial(self.weights, n, replacement=True, generator=g)
        perm = torch.randperm(self.num_items, generator=g)
        if self.num_items < self.batch_size:  # tiny datasets: repeat to fill one batch
            reps = -(-self.batch_size // self.num_items)
            perm = perm.repeat(reps)
        return perm

    def _grouped(self, g: torch.Generator) -> torch.Tensor:
        """One epoch of same-class groups, laid out batch after batch."""
        assert self.groups is not None
        members, class_w, size = self.groups
        n_groups = self.batch_size // size
        distinct = n_groups <= int((class_w > 0).sum())
        out = []
        for _ in range(self.batches_per_epoch):
            classes = torch.multinomial(class_w, n_groups, replacement=not distinct, generator=g)
            picks = torch.stack([members[c][torch.randint(len(members[c]), (size,), generator=g)]
                                 for c in classes.tolist()])  # (n_groups, size)
            out.append(picks.t().reshape(-1))  # position j * n_groups + s: item j of group s
        return torch.cat(out)

    def _positions(self) -> list[int]:
        """The positions within a global batch that this rank takes, in its local order."""
        b, w, r = self.batch_size, self.world_size, self.rank
        if w == 1:
            return list(range(b))
        if self.groups is None:
            return list(range(r * b // w, (r + 1) * b // w))
        n = b // self.groups[2]  # groups per global batch; item j of group s sits at j * n + s
        mine = range(r * n // w, (r + 1) * n // w)
        return [j * n + s for j in range(self.groups[2]) for s in mine]

    def _take(self, perm: torch.Tensor, k: int) -> list[tuple[int, int]]:
        within = k % self.batches_per_epoch
        idx = perm[within * self.batch_size : (within + 1) * self.batch_size].tolist()
        base = k * self.batch_size
        return [(int(idx[j]), sample_seed(self.seed, base + j)) for j in self._positions()]

    def batch(self, k: int) -> list[tuple[int, int]]:
        """This rank's share of the ``k``-th batch of the run (the whole batch with one process)."""
        return self._take(self._permutation(k // self.batches_per_epoch), k)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        k = self.start_batch
        cached_epoch, perm = -1, None
        while True:
            epoch = k // self.batches_per_epoch
            if epoch != cached_epoch:
                cached_epoch, perm = epoch, self._permutation(epoch)
            assert perm is not None
            yield self._take(perm, k)
            k += 1
