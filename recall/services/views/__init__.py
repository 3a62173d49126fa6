"""Screen view-models: what the terminal UI shows, read through the use-cases (no rules, no
SQL of their own beyond choosing what to show)."""
