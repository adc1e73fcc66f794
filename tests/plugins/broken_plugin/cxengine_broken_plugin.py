"""A plugin that fails on import, to prove that cxengine survives it."""

raise ImportError("this plugin is broken on purpose (missing dependency 'not_installed')")
