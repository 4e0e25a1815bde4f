"""Developer machine and `make demo`: base settings with debug-friendly defaults.

The Makefile writes `.env` (git-ignored) with a generated secret key and field keys on first run.
"""
from .base import *  # noqa: F401,F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=False)
