"""The deterministic Thai demo hospital behind ``prm demo``."""

from prm.demo.generate import DemoSummary, generate_demo

__all__ = ["DemoSummary", "generate_demo"]
