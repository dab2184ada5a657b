"""Training driver for tests/test_ddp.py, started by ``torchrun`` (or plain ``python`` for one process).

``python tests/ddp_train.py KIND RUN_DIR STEPS BATCH AMP [DATA]``: KIND ``digits`` (class-conditional WGAN-GP) or
``sr`` (face SR fidelity stage on DATA). After training every rank saves its models and optimiser state to
``RUN_DIR/../state_rank{R}.pt`` so that the test can compare ranks and runs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from test_engine import all_state  # noqa: E402

from srgan_wgan.training.config import GANTrainConfig  # noqa: E402

kind, run_dir, steps, batch, amp = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
every = {"checkpoint_every": 1, "log_every": 1}
if kind == "digits":
    from srgan_wgan.apps.digits import DigitsExperiment

    exp = DigitsExperiment(steps=steps, batch_size=batch, base_channels=8, z_dim=8, n_critic=2, penalty="gp",
                           amp=amp, extra_config=every)
    trainer = exp.build(run_dir, tensorboard=False)
else:
    from srgan_wgan.apps.face_sr import SRExperiment

    cfg = GANTrainConfig(n_critic=0, batch_size=batch, steps=steps, lr_g=1e-3, betas=(0.9, 0.99), ema_decay=0.999,
                         device="cpu", amp=amp, sample_every=steps, **every)
    exp = SRExperiment(data=sys.argv[6], scale=4, stage="fidelity", hr_size=32, val_fraction=0.2, num_feat=16,
                       num_blocks=2, train=cfg)
    trainer = exp.build(run_dir, tensorboard=False)
trainer.fit()
rank = int(os.environ.get("RANK", 0))
state = all_state(trainer) if trainer.D is not None else {
    f"G.{k}": v for k, v in trainer.G.state_dict().items()} | {f"E.{k}": v for k, v in trainer.G_ema.state_dict().items()}
torch.save(state, run_dir.parent / f"state_rank{rank}.pt")
