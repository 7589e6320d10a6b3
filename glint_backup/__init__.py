"""glint-backup: incremental, verifiable backup and restore of a Glance repository.

Stand-alone: it uses ``glint_tui.core`` (adapter, secrets) but never the UI.
"""
