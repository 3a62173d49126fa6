"""The Textual terminal UI: presentation only, over the services layer."""
