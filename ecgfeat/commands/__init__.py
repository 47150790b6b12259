"""Typer sub-commands; `ecgfeat.cli` wires them into one app."""
