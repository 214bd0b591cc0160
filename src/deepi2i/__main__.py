"""`python -m deepi2i` (and `torchrun -m deepi2i`) runs the command line."""

import sys

from deepi2i.cli import main

sys.exit(main())
