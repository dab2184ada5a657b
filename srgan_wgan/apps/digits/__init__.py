"""The core's proof of work: a class-conditional WGAN on scikit-learn's bundled digits (16x16, CPU, minutes).

Used by the test suite and by ``python -m benchmarks.penalties`` (the WGAN vs WGAN-GP vs R1 table).
Quality is measured by an independent classifier (an RBF SVM trained on real digits) that must recognise
the requested class in generated samples.
"""

from srgan_wgan.apps.digits.evaluate import DigitsJudge, generated_accuracy, run_digits, save_digit_grid
from srgan_wgan.apps.digits.experiment import DigitsExperiment

__all__ = ["DigitsExperiment", "DigitsJudge", "generated_accuracy", "run_digits", "save_digit_grid"]
