"""The sans-IO supervisor: broker events in, commands and supervisor events out."""
