"""valr-order-monitor: PostgreSQL decides every order transition; this package only moves bytes."""

__version__ = "0.1.0"
