"""Async orchestration: the protocol core, repositories, keys and the clock, put together."""

from idgate.provider.core import Provider

__all__ = ["Provider"]
