"""Each penalty against hand-computed values on critics whose input gradient is known in closed form."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from srgan_wgan.losses.adversarial import critic_wasserstein_loss, generator_wasserstein_loss
from srgan_wgan.losses.penalties import (
    clip_weights,
    gradient_penalty,
    input_gradient,
    interpolate,
    lipschitz_penalty,
    r1_penalty,
)


class Linear(nn.Module):
    """D(x) = <w, x> + b: the input gradient is w for every sample."""

    def __init__(self, w: torch.Tensor) -> None:
        super().__init__()
        self.w = nn.Parameter(w.clone())
        self.b = nn.Parameter(torch.tensor(0.3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.flatten(1) * self.w.flatten()).sum(1) + self.b


def quadratic(x: torch.Tensor) -> torch.Tensor:
    """D(x) = ||x||^2 / 2 per sample: the input gradient is x itself."""
    return 0.5 * x.flatten(1).pow(2).sum(1)


@pytest.fixture
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(4, 2, 3, 3, generator=g), torch.randn(4, 2, 3, 3, generator=g)


@pytest.mark.parametrize("norm_w", [0.5, 1.0, 2.5])
def test_linear_critic_penalties_match_closed_form(batch, norm_w: float) -> None:
    real, fake = batch
    w = torch.randn(2, 3, 3, generator=torch.Generator().manual_seed(1))
    D = Linear(w / w.norm() * norm_w)
    assert gradient_penalty(D, real, fake).item() == pytest.approx((norm_w - 1) ** 2, abs=1e-5)
    assert lipschitz_penalty(D, real, fake).item() == pytest.approx(max(0.0, norm_w - 1) ** 2, abs=1e-5)
    assert r1_penalty(D, real).item() == pytest.approx(norm_w**2, rel=1e-5)


def test_gp_gradient_reaches_critic_parameters(batch) -> None:
    """Double backward: d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||."""
    real, fake = batch
    w = torch.randn(2, 3, 3, generator=torch.Generator().manual_seed(2)) * 0.7
    D = Linear(w)
    gradient_penalty(D, real, fake).backward()
    n = w.norm()
    expected = 2 * (n - 1) * w / n
    torch.testing.assert_close(D.w.grad, expected, rtol=1e-4, atol=1e-6)
    # R1 on a linear critic: d/dw ||w||^2 = 2w
    D.w.grad = None
    r1_penalty(D, real).backward()
    torch.testing.assert_close(D.w.grad, 2 * w, rtol=1e-5, atol=1e-6)


def test_per_sample_norms_on_quadratic_critic(batch) -> None:
    """With explicit interpolates the gradient is x_hat: the penalty is the mean of (||x_hat_i|| - 1)^2."""
    real, fake = batch
    x_hat = torch.stack([real[0] * 0.1, real[1], fake[2] * 3.0, torch.zeros_like(real[3])])
    norms = x_hat.flatten(1).norm(dim=1)
    gp = gradient_penalty(quadratic, real, fake, interpolates=x_hat)
    lp = lipschitz_penalty(quadratic, real, fake, interpolates=x_hat)
    assert gp.item() == pytest.approx(((norms - 1) ** 2).mean().item(), rel=1e-5)
    assert lp.item() == pytest.approx((torch.clamp(norms - 1, min=0) ** 2).mean().item(), rel=1e-5)
    assert r1_penalty(quadratic, x_hat).item() == pytest.approx((norms**2).mean().item(), rel=1e-5)


def test_epsilon_keeps_penalty_gradient_finite_where_input_gradient_vanishes() -> None:
    """At x = 0 the quadratic critic has zero input gradient; sqrt without eps would give NaN gradients."""
    scale = nn.Parameter(torch.tensor(1.0))
    x = torch.zeros(3, 4)
    gp = gradient_penalty(lambda v: scale * quadratic(v), x, x, interpolates=x)
    gp.backward()
    assert gp.item() == pytest.approx(1.0, abs=1e-5)
    assert torch.isfinite(scale.grad).all()


def test_interpolates_are_per_sample(batch) -> None:
    real, fake = batch
    x_hat = interpolate(real, fake, torch.Generator().manual_seed(3))
    # each sample lies on its own segment: x_hat - fake = eps_i (real - fake) with one eps per sample
    eps = ((x_hat - fake) / (real - fake)).flatten(1)
    assert torch.allclose(eps, eps[:, :1].expand_as(eps), atol=1e-5)
    assert eps[:, 0].unique().numel() == real.shape[0]
    assert ((eps >= 0) & (eps <= 1)).all()


def test_amp_scale_recipe_is_exact_in_fp32(batch) -> None:
    """Multiplying the output by the GradScaler's scale and dividing the gradient by it changes nothing."""
    real, fake = batch
    D = Linear(torch.randn(2, 3, 3, generator=torch.Generator().manual_seed(4)))
    g0 = input_gradient(D, real)
    g1 = input_gradient(D, real, scale=65536.0)
    torch.testing.assert_close(g0, g1)
    assert g1.dtype == torch.float32


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_penalties_under_cpu_autocast(batch, dtype: torch.dtype) -> None:
    """Under autocast (bf16/fp16 matmuls) the penalties stay close to the closed form and come out in fp32."""
    real, fake = batch
    w = torch.randn(18, generator=torch.Generator().manual_seed(5))
    w = w / w.norm() * 1.7
    lin = nn.Linear(18, 1)
    with torch.no_grad():
        lin.weight.copy_(w[None])

    def critic(x: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cpu", dtype=dtype):
            return lin(x.flatten(1)).squeeze(1)

    try:
        gp = gradient_penalty(critic, real, fake, scale=1024.0 if dtype == torch.float16 else None)
    except RuntimeError as exc:  # pragma: no cover - fp16 CPU autocast unsupported on old builds
        pytest.skip(f"CPU autocast {dtype} unavailable: {exc}")
    assert gp.dtype == torch.float32
    tol = 2e-2 if dtype == torch.bfloat16 else 5e-3
    assert gp.item() == pytest.approx(0.7**2, abs=tol)
    r1 = r1_penalty(critic, real)
    assert r1.item() == pytest.approx(1.7**2, rel=tol)
    gp.backward()
    assert torch.isfinite(lin.weight.grad).all() and lin.weight.grad.abs().sum() > 0


def test_clip_weights_clamps_every_parameter() -> None:
    m = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 1))
    with torch.no_grad():
        for p in m.parameters():
            p.mul_(100)
    clip_weights(m, 0.01)
    assert all(p.abs().max().item() <= 0.01 + 1e-9 for p in m.parameters())
    assert any(math.isclose(p.abs().max().item(), 0.01, rel_tol=1e-6) for p in m.parameters())


def test_wasserstein_losses() -> None:
    d_real, d_fake = torch.tensor([1.0, 3.0]), torch.tensor([-1.0, 0.0])
    assert critic_wasserstein_loss(d_real, d_fake).item() == pytest.approx(-0.5 - 2.0)
    assert generator_wasserstein_loss(d_fake).item() == pytest.approx(0.5)


def test_a_penalty_registered_from_outside_the_package_trains(tmp_path) -> None:
    """Adding a penalty touches one place: a spec in the registry. Validation, defaults, help and the engine
    pick it up (here a zero-centred penalty on fakes, 'R2', registered by this test file)."""
    from srgan_wgan.errors import ConfigError
    from srgan_wgan.losses.penalties import PENALTY_REGISTRY, PenaltySpec, input_gradient, penalty_help, register_penalty
    from srgan_wgan.training import GANTrainConfig
    from test_engine import tiny

    calls: list[int] = []

    def r2(critic_fn, real, fake, *, generator=None, scale=None):
        calls.append(real.shape[0])
        return input_gradient(critic_fn, fake, scale).pow(2).sum(dim=1).mean()

    register_penalty(PenaltySpec("toy-r2", "zero-centred penalty on fakes", r2, default_weight=2.0, per_sample=True))
    try:
        assert GANTrainConfig(penalty="toy-r2").resolved_penalty_weight == 2.0
        assert "toy-r2 (zero-centred penalty on fakes)" in penalty_help()
        with pytest.raises(ConfigError, match="BatchNorm"):
            GANTrainConfig(penalty="toy-r2").validate(critic_norm="batch")
        trainer = tiny(2, penalty="toy-r2").build(tmp_path / "run", tensorboard=False)
        metrics = trainer.fit()
        assert len(calls) == 2 * trainer.config.n_critic and metrics["critic/penalty"] > 0
    finally:
        del PENALTY_REGISTRY["toy-r2"]
    with pytest.raises(ConfigError, match="unknown penalty 'toy-r2'"):
        GANTrainConfig(penalty="toy-r2").validate()
