"""``srgan-wgan`` / ``python -m srgan_wgan``: both applications under one command."""

from __future__ import annotations

import typer

from srgan_wgan_cli import paint, sr
from srgan_wgan_cli._common import run_app

app = typer.Typer(
    name="srgan-wgan",
    help="Conditional Wasserstein GANs: face super-resolution (sr) and style-conditioned painting (paint).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(sr.app, name="sr")
app.add_typer(paint.app, name="paint")


def main() -> None:
    """Console-script entry point."""
    run_app(app)


if __name__ == "__main__":
    main()
