"""``sr``: face super-resolution (train, evaluate, upscale)."""

from __future__ import annotations

from typing import Annotated

import typer

from srgan_wgan.version import __version__
from srgan_wgan_cli._common import console, run_app

app = typer.Typer(
    name="sr",
    help="Face super-resolution with conditional Wasserstein GANs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Face super-resolution."""


@app.command()
def version() -> None:
    """Print the package version."""
    console.print(f"srgan-wgan {__version__}", highlight=False)


def main() -> None:
    """Console-script entry point."""
    run_app(app)


if __name__ == "__main__":
    main()
