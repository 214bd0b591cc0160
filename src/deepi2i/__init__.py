"""deepi2i: DeepI2I (NeurIPS 2020) image-to-image translation transferred from a pretrained BigGAN."""

__version__ = "0.1.0"

from deepi2i.config import BigGANConfig, DeepI2IConfig, DiscriminatorConfig, GeneratorConfig  # noqa: E402
from deepi2i.networks import Adaptors, DeepI2I, Discriminator, Encoder, Generator  # noqa: E402
from deepi2i.networks.biggan import BigGAN  # noqa: E402

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
