"""companion: a self-hosted room for online intervisie."""

__version__ = "0.1.0"
