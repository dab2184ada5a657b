"""``python -m srgan_wgan_cli`` runs the combined ``srgan-wgan`` app."""

from srgan_wgan_cli.main import main

if __name__ == "__main__":
    main()
