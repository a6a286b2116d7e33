"""The built-in feature plugins of Kliendihaldus (each registered through its entry point)."""
