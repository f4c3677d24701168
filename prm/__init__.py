"""PRM: a hospital patient-relationship system."""

__version__ = "0.1.0"
