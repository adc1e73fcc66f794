"""Weighting survey answers so they represent a population (non-response correction).

- `calibrate`: post-stratification on one field, raking (iterative proportional
  fitting) on several, trimming of extreme weights, and the guard rails around them;
- `estimates`: weighted shares, NPS and means with intervals from Kish's effective n;
- `model`: the `weights:` block of a spec;
- `apply`: computing a spec's weighted values inside a run.

The design choices (why Kish's n, why the weights are constant per cell) are in
docs/statistics.md.
"""
