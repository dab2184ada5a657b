"""Golden-value regression tests: every shipped model's output on a fixed seeded input must not change.

A failure means a code change altered what the shipped weights produce. If that is intended (retrained
weights), regenerate with ``python tests/golden/update.py`` and say so in the change.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODELS = sorted((ROOT / "weights").glob("*/generator.safetensors"))


def test_every_shipped_model_has_golden_values() -> None:
    missing = [m.parent.name for m in MODELS if not (ROOT / "tests" / "golden" / f"{m.parent.name}.json").exists()]
    assert not missing, f"no golden values for {missing}: run python tests/golden/update.py"


@pytest.mark.parametrize("weights", MODELS, ids=[m.parent.name for m in MODELS])
def test_shipped_model_output_is_unchanged(weights: Path) -> None:
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "golden"))
    from update import fingerprint

    golden = json.loads((ROOT / "tests" / "golden" / f"{weights.parent.name}.json").read_text())
    now = fingerprint(weights)
    assert now["shape"] == golden["shape"]
    assert now["mean"] == pytest.approx(golden["mean"], abs=1e-5)
    assert now["std"] == pytest.approx(golden["std"], abs=1e-5)
    assert now["pixels"] == pytest.approx(golden["pixels"], abs=1e-4)
