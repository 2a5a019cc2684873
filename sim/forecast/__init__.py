"""Forecast from open orders: a warm start from the orders open at a date (docs/forecast.md)."""
