"""Runs the cashier on one machine: moto on loopback, the template's resources,
and the real handlers."""
