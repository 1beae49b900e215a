"""Helpers for offline tests of the Telegram edge, after python-telegram-bot's own tests/auxil."""
