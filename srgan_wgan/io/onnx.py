"""ONNX export of release generators and an onnxruntime (CPU, fp32) inference backend.

A release ``generator.safetensors`` becomes one self-describing ``.onnx`` file::

    export_onnx("weights/face-x4/generator.safetensors", "face-x4.onnx")
    G = load_onnx("face-x4.onnx", expected_arch="SRResNet")   # called like the PyTorch module
    sr = G(lr)                                               # (B, 3, H, W) in [0, 1] -> (B, 3, sH, sW), float32

``metadata_props`` of the file hold what the safetensors header holds, under ``srgan_wgan.*`` keys: ``arch``,
``config`` (JSON of the architecture dataclass), ``extra`` (JSON: scale, hr_size, class names, ...), ``version``
(the package version that wrote the weights), ``exported_by`` (the version that exported them); painting generators
add ``embedding`` (the style table, JSON) and ``noise_shapes``.

Graphs (fp32):

* ``SRResNet``, ``CompactSR``: input ``lr`` ``(batch, 3, height, width)`` in ``[0, 1]``; output ``sr``
  ``(batch, 3, height*s, width*s)``, not clamped (clamp to ``[0, 1]``, as for the PyTorch model). Batch, height
  and width are dynamic.
* ``CondGenerator``: inputs ``z`` ``(batch, z_dim)``, ``embedding`` ``(batch, embed_dim)`` (a row of the style
  table ``srgan_wgan.embedding``, or a mix of rows for style interpolation) and, for generators with noise inputs,
  ``noise0 .. noise{k-1}`` ``(batch, 1, h, w)`` (shapes in ``srgan_wgan.noise_shapes``; drawn by the caller, so a seed
  gives the same painting as in PyTorch); output ``image`` ``(batch, 3, r, r)`` in ``[-1, 1]``. Batch is dynamic.

Export uses PyTorch's TorchScript-based exporter (``dynamo=False``: under a second per model, one file, needs only
the ``onnx`` package) at opset 17. Running needs ``onnxruntime``. ``pip install "srgan-wgan[onnx]"`` installs both.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from srgan_wgan.errors import UserError, WeightsError
from srgan_wgan.io.atomic import atomic_write
from srgan_wgan.version import __version__

log = logging.getLogger("srgan_wgan")

ONNX_OPSET = 17
"""Opset of the exported graphs (onnxruntime 1.12 and newer run it)."""
INSTALL_HINT = 'onnxruntime is not installed: pip install "srgan-wgan[onnx]"'
META = "srgan_wgan."
"""Prefix of the metadata keys."""
SR_ARCHS: tuple[str, ...] = ("SRResNet", "CompactSR")
"""Image-to-image SR networks: input ``lr``, output ``sr``."""
EXPORTABLE: tuple[str, ...] = (*SR_ARCHS, "CondGenerator")


def _require(module: str) -> Any:
    """Import ``module`` (onnx or onnxruntime), or a one-line :class:`UserError` naming the ``[onnx]`` extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise UserError(INSTALL_HINT.replace("onnxruntime", module)) from exc


# ---- export -----------------------------------------------------------------------------------------------------
class _PaintGraph(nn.Module):
    """The exported painting graph: the generator from a given style embedding (the table stays in the metadata)."""

    def __init__(self, G: nn.Module) -> None:
        super().__init__()
        self.G = G

    def forward(self, z: torch.Tensor, embedding: torch.Tensor, *noise: torch.Tensor) -> torch.Tensor:
        return self.G(z, None, embedding=embedding, noise=list(noise) or None)


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def export_onnx(model: nn.Module | str | os.PathLike[str], out_path: str | os.PathLike[str],
                opset: int = ONNX_OPSET) -> Path:
    """Export a release generator (a ``.safetensors`` path, or a ``SRResNet`` / ``CondGenerator``, e.g. from
    :func:`~srgan_wgan.io.weights.load_pretrained`) to ``out_path``, fp32 with dynamic axes and the release
    metadata (module doc); written atomically.

    Raises:
        WeightsError: unreadable weights, or an architecture that is not exported (a critic).
        UserError: the ``onnx`` package is missing.
    """
    from srgan_wgan.io.weights import _arch_name, load_pretrained

    onnx = _require("onnx")
    G = model if isinstance(model, nn.Module) else load_pretrained(model)
    arch = _arch_name(G)
    if arch not in EXPORTABLE:
        raise WeightsError(f"{model if not isinstance(model, nn.Module) else arch}: holds a {arch}; only the "
                           f"generators ({', '.join(EXPORTABLE)}) are exported to ONNX")
    meta = dict(getattr(G, "weights_metadata", None) or {})
    G = copy.deepcopy(G).to("cpu", torch.float32).to(memory_format=torch.contiguous_format).eval().requires_grad_(False)
    props = {
        "arch": arch,
        "config": json.dumps(G.config_dict(), sort_keys=True),
        "extra": json.dumps(meta.get("extra") or {}, sort_keys=True),
        "version": str(meta.get("version", __version__)),
        "exported_by": __version__,
    }
    g = torch.Generator().manual_seed(0)
    if arch in SR_ARCHS:
        graph: nn.Module = G
        args: tuple[torch.Tensor, ...] = (torch.rand(1, G.config.in_channels, 24, 20, generator=g),)
        names, outputs = ["lr"], ["sr"]
        dyn = {"lr": {0: "batch", 2: "height", 3: "width"}, "sr": {0: "batch", 2: "out_height", 3: "out_width"}}
    else:
        graph = _PaintGraph(G)
        noise = G.draw_noise(2, g)
        args = (torch.randn(2, G.z_dim, generator=g), G.embed.weight[:2].clone(), *noise)
        names, outputs = ["z", "embedding", *(f"noise{k}" for k in range(len(noise)))], ["image"]
        dyn = {n: {0: "batch"} for n in [*names, "image"]}
        props["embedding"] = json.dumps(G.embed.weight.tolist())
        props["noise_shapes"] = json.dumps([list(s) for s in G.noise_shapes()])
    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
        torch.onnx.export(graph, args, buf, dynamo=False, input_names=names, output_names=outputs,
                          dynamic_axes=dyn, opset_version=opset, do_constant_folding=True)
    proto = onnx.load_from_string(buf.getvalue())
    del proto.metadata_props[:]
    for k, v in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = META + k, v
    proto.doc_string = f"srgan-wgan {arch} {props['config']}"
    onnx.checker.check_model(proto)
    out = Path(out_path)
    with atomic_write(out) as tmp:
        tmp.write_bytes(proto.SerializeToString())
    return out


def onnx_cache_dir() -> Path:
    """Where releases given to the onnx backend are exported: ``$SRGAN_WGAN_CACHE/onnx``, default
    ``~/.cache/srgan_wgan/onnx``."""
    from srgan_wgan.io.hub import search_paths

    return search_paths("onnx")[0]


def onnx_cache_path(weights: str | os.PathLike[str]) -> Path:
    """The cached export of a ``.safetensors`` file: ``<folder>-<sha256[:16] of the file>.onnx`` in
    :func:`onnx_cache_dir` (the same weights always map to the same file, changed weights to another)."""
    path = Path(weights)
    if not path.is_file():
        raise WeightsError(f"{path}: weights file not found")
    return onnx_cache_dir() / f"{path.parent.name}-{_file_sha256(path)[:16]}.onnx"


# ---- inference --------------------------------------------------------------------------------------------------
class OnnxGenerator:
    """An exported generator run by onnxruntime's CPUExecutionProvider, called like the PyTorch module it came from
    (``G(lr)``; ``G(z, y, embedding=None, noise=None)``), with its ``config``, ``weights_metadata`` and, for painting
    generators, ``z_dim``, ``embed``, :meth:`noise_shapes` and :meth:`draw_noise`. Always fp32; inputs are moved to
    the CPU, outputs are float32 CPU tensors. Threads: ``torch.get_num_threads()`` (so ``OMP_NUM_THREADS`` and
    ``torch.set_num_threads`` apply as to PyTorch)."""

    def __init__(self, path: str | os.PathLike[str], expected_arch: str | None = None) -> None:
        from srgan_wgan.archs import ARCHS

        self.path = Path(path)
        if not self.path.is_file():
            raise WeightsError(f"{self.path}: ONNX file not found")
        ort = _require("onnxruntime")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, torch.get_num_threads())
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(self.path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime's InvalidProtobuf / Fail / ... share no public base class
            raise WeightsError(f"{self.path}: not a readable ONNX model ({str(exc).splitlines()[0][:160]})") from exc
        props = {k.removeprefix(META): v for k, v in self.session.get_modelmeta().custom_metadata_map.items()
                 if k.startswith(META)}
        if "arch" not in props or props["arch"] not in ARCHS:
            raise WeightsError(f"{self.path}: not an srgan-wgan ONNX export (no {META}arch metadata; make one with "
                               "`sr export --onnx` or `paint export --onnx`)")
        try:
            config = json.loads(props["config"])
            self.weights_metadata: dict[str, Any] = {
                "arch": props["arch"], "config": config, "version": props.get("version", "?"),
                "extra": json.loads(props.get("extra", "{}")), "exported_by": props.get("exported_by", "?"),
            }
            self.config = ARCHS[props["arch"]][1](**config)
            shapes = json.loads(props.get("noise_shapes", "[]"))
            table = json.loads(props["embedding"]) if props["arch"] == "CondGenerator" else None
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise WeightsError(f"{self.path}: corrupt srgan-wgan ONNX metadata ({exc})") from exc
        if expected_arch is not None and self.arch != expected_arch:
            raise WeightsError(f"{self.path}: holds a {self.arch}, expected a {expected_arch}")
        self._noise_shapes = [tuple(int(v) for v in s) for s in shapes]
        self.embed = (nn.Embedding.from_pretrained(torch.tensor(table, dtype=torch.float32), freeze=True)
                      if table is not None else None)
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_name = self.session.get_outputs()[0].name

    @property
    def arch(self) -> str:
        return str(self.weights_metadata["arch"])

    @property
    def z_dim(self) -> int:
        return int(self.config.z_dim)

    @property
    def scale(self) -> int:
        return int(self.config.scale)

    def noise_shapes(self) -> list[tuple[int, int, int]]:
        """Per-sample shapes ``(1, h, w)`` of the noise inputs (empty without noise)."""
        return list(self._noise_shapes)  # type: ignore[arg-type]

    def draw_noise(self, n: int, generator: torch.Generator | None = None,
                   device: torch.device | str | None = None) -> list[torch.Tensor]:
        """As :meth:`CondGenerator.draw_noise <srgan_wgan.archs.CondGenerator.draw_noise>` (same draws, same order)."""
        return [torch.randn((n, *s), generator=generator, device=device) for s in self._noise_shapes]

    def to(self, *args: object, **kwargs: object) -> OnnxGenerator:
        """No-op (onnxruntime keeps its own layout and device): lets callers treat it as a module."""
        return self

    def eval(self) -> OnnxGenerator:
        return self

    def run(self, feeds: dict[str, np.ndarray | torch.Tensor]) -> np.ndarray:
        """Run the graph on ``feeds`` (input name -> array or tensor) -> the output array."""
        arrays = {}
        for name in self.input_names:
            if name not in feeds:
                raise UserError(f"{self.path}: missing input {name!r} (inputs: {', '.join(self.input_names)})")
            v = feeds[name]
            a = v.detach().float().cpu().numpy() if isinstance(v, torch.Tensor) else np.asarray(v, np.float32)
            arrays[name] = np.ascontiguousarray(a, np.float32)
        return self.session.run([self.output_name], arrays)[0]

    def __call__(self, x: torch.Tensor, y: torch.Tensor | None = None, embedding: torch.Tensor | None = None,
                 noise: list[torch.Tensor] | None = None) -> torch.Tensor:
        if self.arch in SR_ARCHS:
            return torch.from_numpy(self.run({"lr": x}))
        assert self.embed is not None
        if embedding is None:
            if y is None:
                raise ValueError("give the style index y or an embedding")
            embedding = self.embed(y.cpu())
        if self._noise_shapes:
            if noise is None:
                noise = self.draw_noise(x.shape[0])
            elif len(noise) != len(self._noise_shapes):
                raise ValueError(f"expected {len(self._noise_shapes)} noise maps, got {len(noise)}")
        feeds = {"z": x, "embedding": embedding, **{f"noise{k}": m for k, m in enumerate(noise or [])}}
        return torch.from_numpy(self.run(feeds))


def load_onnx(path: str | os.PathLike[str], expected_arch: str | None = None) -> OnnxGenerator:
    """Open an exported ``.onnx`` (see :class:`OnnxGenerator`).

    Raises:
        WeightsError: missing or unreadable file, not an srgan-wgan export, or another architecture than expected.
        UserError: onnxruntime is not installed.
    """
    return OnnxGenerator(path, expected_arch)


def resolve_onnx(path: str | os.PathLike[str], expected_arch: str) -> OnnxGenerator:
    """The onnxruntime model of ``path``: an ``.onnx`` file as is; a release ``.safetensors`` (checked to hold
    ``expected_arch``) exported once to :func:`onnx_cache_path` and reused from there."""
    path = Path(path)
    if path.suffix.lower() == ".onnx":
        return load_onnx(path, expected_arch)
    from srgan_wgan.io.weights import read_weights_metadata

    _require("onnxruntime")
    meta = read_weights_metadata(path)
    if meta["arch"] != expected_arch:
        raise WeightsError(f"{path}: holds a {meta['arch']}, expected a {expected_arch}")
    cached = onnx_cache_path(path)
    if not cached.is_file():
        log.info("exporting %s to %s (onnxruntime backend)", path, cached)
        export_onnx(path, cached)
    return load_onnx(cached, expected_arch)
