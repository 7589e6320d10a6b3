"""Glint's terminal UI (Textual). Renders core state and turns keys into intents."""
