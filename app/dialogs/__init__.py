"""Dialogs and the background jobs behind them."""
