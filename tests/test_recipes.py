"""Recipes as files: ``--config FILE`` sets a command's options, flags on the command line override them, and
bad files fail with one line."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.main import get_command

from cli_inprocess import run_cli

from srgan_wgan_cli import paint as paint_cli
from srgan_wgan_cli import sr as sr_cli

ROOT = Path(__file__).resolve().parents[1]


def _options(app) -> dict[str, set[str]]:
    group = get_command(app)
    return {name: {p.name for p in cmd.params} for name, cmd in group.commands.items()}


@pytest.mark.parametrize("path", sorted((ROOT / "configs").glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_recipe_names_only_real_options(path: Path) -> None:
    table = tomllib.loads(path.read_text())
    meta = table.pop("recipe")
    assert meta["name"] and meta["licence"]
    app = paint_cli.app if table.get("kind") == "paint" or path.name.startswith("wikiart") else sr_cli.app
    known = _options(app)["train"]
    assert {k.replace("-", "_") for k in table} <= known


def test_config_sets_options_and_flags_override(tmp_path) -> None:
    faces = tmp_path / "faces"
    faces.mkdir()
    rng = np.random.default_rng(0)
    for i in range(12):
        Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(faces / f"{i}.png")
    recipe = tmp_path / "r.toml"
    recipe.write_text(f'data = "{faces}"\nscale = 4\nhr-size = 32\nsteps = 5\nbatch-size = 4\nnum_feat = 8\n'
                      'num-blocks = 1\nsample-every = 100\n\n[recipe]\nname = "t"\n')
    run = tmp_path / "run"
    cmd = ["sr", "train", "--config", str(recipe), "--run-dir", str(run), "--steps", "2"]
    out = run_cli(*cmd)
    assert out.returncode == 0, out.stderr
    exp = json.loads((run / "experiment.json").read_text())["experiment"]
    assert (exp["scale"], exp["hr_size"], exp["num_feat"], exp["train"]["steps"]) == (4, 32, 8, 2)

    recipe.write_text(f'data = "{faces}"\nscael = 4\n')
    out = run_cli(*cmd[:-2], "--run-dir", str(tmp_path / "r2"))
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "scael is not an option" in out.stderr
    recipe.write_text('scale = 4\n[recipe]\nname = "x"\nsteps = 3\n')
    out = run_cli(*cmd)
    assert out.returncode == 2 and "inside the [recipe] table" in out.stderr


def test_critic_and_penalty_options_are_declared_once_for_both_apps() -> None:
    """sr train and paint train take the critic/penalty options from one place (same help, same panel)."""
    from srgan_wgan_cli._common import CRITIC_OPTIONS, CRITIC_PANEL

    sr_train = {p.name: p for p in get_command(sr_cli.app).commands["train"].params}
    paint_train = {p.name: p for p in get_command(paint_cli.app).commands["train"].params}
    for name in CRITIC_OPTIONS:
        a, b = sr_train[name], paint_train[name]
        assert a.help == b.help and a.help, name
        assert getattr(a, "rich_help_panel", None) == getattr(b, "rich_help_panel", None) == CRITIC_PANEL, name
    assert "r1 5" in sr_train["penalty_weight"].help  # read from the penalty registry
