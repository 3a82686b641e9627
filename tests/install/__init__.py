"""Real installs: the wheel in fresh venvs, next to an app's pins, across the supported range."""
