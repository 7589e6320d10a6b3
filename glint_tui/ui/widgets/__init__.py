"""Widgets of the matrix screen."""
