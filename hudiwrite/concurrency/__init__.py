"""concurrency layer: see docs/architecture.md."""
