"""deepi2i: DeepI2I (NeurIPS 2020) image-to-image translation transferred from a pretrained BigGAN."""

__version__ = "0.1.0"
