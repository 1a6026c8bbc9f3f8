"""index layer: see docs/architecture.md."""
