"""Operator commands: status, metrics, alerts, orders, poll, cancel (views and operator functions)."""
