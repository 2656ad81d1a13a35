"""The package version, in a module of its own so that saving a file imports nothing else."""

__version__ = "0.1.0"
