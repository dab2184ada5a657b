"""Run the ``srgan-wgan`` command inside the test process, as a subprocess would see it but without a fresh
interpreter (each subprocess imports torch again: about 3 s on the CI's 2 cores).

:func:`run_cli` goes through the real entry point (``run_app``: one-line errors, exit codes), captures stdout and
stderr, and returns a :class:`subprocess.CompletedProcess` so tests read it as before. Process-wide state that a
command may change (thread count, deterministic-algorithm flags, RNGs, the ``srgan_wgan`` logger, environment,
working directory) is put back afterwards, so one command cannot leak into the next test. An exception that would
have been a traceback in a subprocess becomes exit code 1 with the traceback in ``stderr``.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import random
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch


@contextlib.contextmanager
def _isolated(cwd: str | os.PathLike[str] | None) -> Iterator[None]:
    """Restore what a command may change in this process."""
    logger = logging.getLogger("srgan_wgan")
    saved_logger = (list(logger.handlers), logger.level, logger.propagate)
    saved = dict(
        threads=torch.get_num_threads(), det=torch.are_deterministic_algorithms_enabled(),
        det_warn=torch.is_deterministic_algorithms_warn_only_enabled(), torch_rng=torch.get_rng_state(),
        np_rng=np.random.get_state(), py_rng=random.getstate(), env=dict(os.environ), cwd=os.getcwd(),
        argv=list(sys.argv), dtype=torch.get_default_dtype(), matmul=torch.get_float32_matmul_precision(),
    )
    try:
        if cwd is not None:
            os.chdir(cwd)
        yield
    finally:
        os.chdir(saved["cwd"])
        sys.argv[:] = saved["argv"]
        os.environ.clear()
        os.environ.update(saved["env"])
        torch.set_num_threads(saved["threads"])
        torch.use_deterministic_algorithms(saved["det"], warn_only=saved["det_warn"])
        torch.set_rng_state(saved["torch_rng"])
        np.random.set_state(saved["np_rng"])
        random.setstate(saved["py_rng"])
        torch.set_default_dtype(saved["dtype"])
        torch.set_float32_matmul_precision(saved["matmul"])
        logger.handlers[:] = saved_logger[0]
        logger.setLevel(saved_logger[1])
        logger.propagate = saved_logger[2]


def run_cli(*args: str | os.PathLike[str], cwd: str | os.PathLike[str] | None = None
            ) -> subprocess.CompletedProcess[str]:
    """``python -m srgan_wgan ARGS...`` in this process; returns the exit code and the captured output."""
    from srgan_wgan_cli.main import main

    argv = ["srgan-wgan", *(str(a) for a in args)]
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with _isolated(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        sys.argv = argv
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if not isinstance(exc.code, (int, type(None))):
                print(exc.code, file=sys.stderr)
        except Exception:  # a crash: what a subprocess would print before exiting 1
            traceback.print_exc(file=sys.stderr)
            code = 1
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


def sub_command(*prefix: str):  # noqa: ANN201 - a small factory for the test modules
    """``run_cli`` with fixed leading arguments, e.g. ``sub_command("sr", "upscale")``."""

    def run(*args: str | os.PathLike[str], cwd: str | os.PathLike[str] | Path | None = None
            ) -> subprocess.CompletedProcess[str]:
        return run_cli(*prefix, *args, cwd=cwd)

    return run
