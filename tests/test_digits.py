"""The core's end-to-end proof: a class-conditional WGAN-GP on scikit-learn's digits, trained on CPU in minutes.

An independent classifier (RBF SVM trained on real digits) must recognise the requested class in >= 80 % of
generated samples. This is the README's benchmark configuration (`python -m benchmarks.penalties`).
"""

from __future__ import annotations

import pytest

from srgan_wgan.apps.digits import DigitsExperiment, DigitsJudge, run_digits


@pytest.fixture(scope="module")
def judge() -> DigitsJudge:
    return DigitsJudge()


def test_judge_is_worth_the_name(judge: DigitsJudge) -> None:
    assert judge.real_accuracy >= 0.95


@pytest.mark.slow
def test_wgan_gp_generates_the_requested_digit(tmp_path, judge: DigitsJudge) -> None:
    result = run_digits(DigitsExperiment(penalty="gp", seed=0), tmp_path / "gp", judge)
    assert result["accuracy"] >= 0.80, result
    assert result["steps"] == 300 and result["optimizer"] == "adam"
