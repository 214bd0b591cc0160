"""The networks: pure nn.Modules (no optimizers, no device logic)."""

from deepi2i.networks.adaptor import Adaptor, Adaptors
from deepi2i.networks.biggan import Discriminator, Generator
from deepi2i.networks.deepi2i import DeepI2I
from deepi2i.networks.encoder import Encoder

__all__ = ["Adaptor", "Adaptors", "DeepI2I", "Discriminator", "Encoder", "Generator"]
