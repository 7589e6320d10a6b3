"""Glint's UI-free core: model, config, secrets, cloud adapters, engine.

Nothing under this package imports textual; glint-backup and scripts use it directly.
"""
