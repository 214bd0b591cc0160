"""deepi2i: DeepI2I (NeurIPS 2020) image-to-image translation transferred from a pretrained BigGAN."""

from deepi2i.config import BigGANConfig, DeepI2IConfig, DiscriminatorConfig, GeneratorConfig
from deepi2i.networks import Adaptors, DeepI2I, Discriminator, Encoder, Generator
from deepi2i.networks.biggan import BigGAN
from deepi2i.version import __version__

__all__ = [
    "Adaptors",
    "BigGAN",
    "BigGANConfig",
    "DeepI2I",
    "DeepI2IConfig",
    "Discriminator",
    "DiscriminatorConfig",
    "Encoder",
    "Generator",
    "GeneratorConfig",
    "__version__",
]
