"""kamopt: a decision engine for Key Account Management."""

__version__ = "0.1.0"
