"""cxengine plugin entry point for the NLP enricher (entry-point group ``cxengine``).

This module is what the cxengine host loads through the ``cxengine`` entry point
group (``nlp = "cxengine_nlp.plugin"``). It deliberately holds no hook
implementations yet: the host integration (``register_enrichers``, the theme-share and
driver aggregation kinds, the ``themes`` and ``followups`` commands) is phase 2 of the
plugin and will be written here by the cxengine maintainers. Until then, loading this
module registers nothing and has no side effects, and the rest of ``cxengine_nlp`` never
imports ``cxengine``.
"""
