"""The distribution version, read once from the installed metadata."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cxengine-nlp")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
