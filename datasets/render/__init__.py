"""Procedural renderers: quadrupeds and humans written in the real dataset formats."""
