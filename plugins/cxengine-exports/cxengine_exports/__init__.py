"""cxengine sources for the files CX teams export from survey tools, helpdesks and CRMs.

Each source maps one vendor's export to cxengine's standard fields (`submitted_at`,
`recommend`, `satisfaction`, `effort`, `comment`, `created_at`, `first_response_at`,
`channel`, `agent`, …), so the standard specs run unchanged whichever tool the data
came from. See README.md for each vendor's export steps and mapping.
"""

__version__ = "0.1.0"
