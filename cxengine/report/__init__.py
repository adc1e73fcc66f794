"""Reading a stored run for people: the terminal summary, `show`, `export`, the HTML report.

Everything here reads the results database (or a run just computed): nothing is
recomputed, so what a report says is exactly what the run stored.
"""
