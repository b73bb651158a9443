"""Warden: a trust-and-safety gateway in front of Claude."""

__version__ = "0.1.0"
