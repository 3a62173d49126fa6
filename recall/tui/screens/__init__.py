"""The screens of the terminal UI, one module per job staff do."""
