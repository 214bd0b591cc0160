"""The package version, in a module of its own so that writers of files can record it without
importing the package (whose __init__ imports the networks)."""

__version__ = "0.1.0"
