"""``python -m srgan_wgan``: the ``srgan-wgan`` command (``sr ...`` and ``paint ...`` sub-commands)."""

from srgan_wgan_cli.main import main

if __name__ == "__main__":
    main()
