"""Command-line interface (installed as the ``srgan_wgan_cli`` package): ``sr``, ``paint`` and ``srgan-wgan``."""
