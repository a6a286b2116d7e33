"""The hookspec marker shared by the spec modules (kept apart to avoid import cycles)."""

import pluggy

PROJECT = "kliendihaldus"
hookspec = pluggy.HookspecMarker(PROJECT)
