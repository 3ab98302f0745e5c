"""Strategies decide when: breakout rules and watchers that arm and trigger trades."""
