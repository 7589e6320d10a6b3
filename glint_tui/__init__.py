"""Glint: keep the same VM images on many OpenStack clouds."""

__version__ = "0.1.0"
