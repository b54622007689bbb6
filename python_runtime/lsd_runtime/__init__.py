"""LSD Bridge runtime: restyles game-engine frames in real time."""

__version__ = "0.1.0"
