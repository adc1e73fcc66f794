"""A working plugin that prints at import (and in its hook): stdout must stay clean."""

from collections.abc import Callable

from cxengine.api import hookimpl

print("hello from a noisy plugin")


class NoisySource:
    name = "noisy"
    description = "a source from a plugin that prints"


@hookimpl
def register_sources(register: Callable[..., None]) -> None:
    print("registering the noisy source")
    register(NoisySource())
