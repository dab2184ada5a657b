"""The projected critic (issue 24): frozen ImageNet features, fixed random projections saved with the weights,
trainable multi-scale heads with projection conditioning, and an exact image-space gradient penalty."""

from __future__ import annotations

import pytest
import torch

from srgan_wgan.archs import ProjectedCritic, ProjectedCriticConfig, build_arch
from srgan_wgan.errors import ConfigError

pytestmark = pytest.mark.shared  # the genuine ImageNet backbones live in ../shared


def _perturb(D: ProjectedCritic) -> ProjectedCritic:
    """Move the zero-initialised output layers and class embeddings off zero (as training does)."""
    with torch.no_grad():
        for p in D.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return D


@pytest.mark.parametrize("backbone,res,sides", [("vgg16", 64, [32, 16, 8]), ("alexnet", 128, [31, 15, 7])])
def test_scores_heads_and_frozen_backbone(shared_dir, backbone, res, sides) -> None:
    torch.manual_seed(0)
    D = ProjectedCritic(ProjectedCriticConfig(resolution=res, backbone=backbone, num_classes=3, mix_channels=16,
                                              head_channels=16))
    x = torch.rand(4, 3, res, res) * 2 - 1
    y = torch.tensor([0, 1, 2, 0])
    assert [f.shape[-1] for f in D.project(x)] == sides
    assert torch.equal(D(x, y), torch.zeros(4))  # zero-initialised outputs: the penalty starts at 1
    _perturb(D)
    score = D(x, y)
    assert score.shape == (4,) and torch.isfinite(score).all()
    assert not torch.equal(D(x, torch.tensor([1, 2, 0, 1])), score)  # the class enters the score
    names = {n for n, _ in D.named_parameters()}
    assert names and all(n.startswith(("heads.", "embeds.")) for n in names)  # the backbone is not trained
    state = D.state_dict()
    assert "ccm0" in state and "csm0" in state and not any(k.startswith("features.") for k in state)
    with pytest.raises(ValueError, match="class-conditioned"):
        D(x)


def test_rebuilt_from_its_file_and_seeded(shared_dir, tmp_path) -> None:
    from srgan_wgan.io.weights import load_pretrained, save_pretrained

    cfg = ProjectedCriticConfig(resolution=64, num_classes=2, mix_channels=8, head_channels=8)
    torch.manual_seed(0)
    D = _perturb(ProjectedCritic(cfg))
    assert torch.equal(ProjectedCritic(cfg).ccm1, D.ccm1)  # the projections follow projection_seed
    assert not torch.equal(ProjectedCritic(ProjectedCriticConfig(**{**cfg.__dict__, "projection_seed": 1})).ccm1,
                           D.ccm1)
    save_pretrained(D, tmp_path / "critic.safetensors")
    back = load_pretrained(tmp_path / "critic.safetensors")
    x, y = torch.rand(2, 3, 64, 64) * 2 - 1, torch.tensor([0, 1])
    assert type(back).__name__ == "ProjectedCritic" and back.config.taps == (8, 15, 22)
    torch.testing.assert_close(back(x, y), D(x, y))
    assert type(build_arch("ProjectedCritic", D.config_dict())) is ProjectedCritic


def test_gradient_penalty_flows_through_the_frozen_backbone(shared_dir) -> None:
    from srgan_wgan.losses.penalties import gradient_penalty

    torch.manual_seed(0)
    D = _perturb(ProjectedCritic(ProjectedCriticConfig(resolution=64, backbone="alexnet", cond="none",
                                                       mix_channels=8, head_channels=8)))
    real, fake = torch.rand(3, 3, 64, 64) * 2 - 1, torch.rand(3, 3, 64, 64) * 2 - 1
    gp = gradient_penalty(lambda x: D(x), real, fake)
    gp.backward()
    grads = {n: p.grad for n, p in D.named_parameters() if n.endswith("weight")}  # biases do not move the slope
    assert gp.item() > 0 and all(g is not None and torch.isfinite(g).all() for g in grads.values())
    assert all(g.abs().sum() > 0 for g in grads.values())


def test_bad_configs_are_one_line_errors() -> None:
    for kwargs, msg in [({"backbone": "resnet"}, "unknown projected-critic backbone"),
                        ({"num_classes": 0}, "num_classes >= 1"), ({"norm": "batch"}, "no normalisation"),
                        ({"taps": (15, 8)}, "increasing"), ({"resolution": 16}, "at least 32"),
                        ({"cond": "image"}, "class or none")]:
        with pytest.raises(ConfigError, match=msg):
            ProjectedCriticConfig(**{"num_classes": 2, **kwargs}).validate()
