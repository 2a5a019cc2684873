"""Replications and their statistics."""
