"""timeline layer: see docs/architecture.md."""
