"""A plugin that calls sys.exit(0) at import: cxengine must not exit 0 with nothing done."""

import sys

sys.exit(0)
