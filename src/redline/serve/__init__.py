"""`redline serve`: the subscriber web app (subscribe, preferences, one-click unsubscribe)."""
