"""Pure rules: QOF-year arithmetic, codes, NHS numbers, the PCA rule, the backfill planner.

Nothing here does I/O or imports another layer of the project, so every rule can be unit-tested
(and property-tested) in isolation.
"""
