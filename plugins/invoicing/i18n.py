"""The translation domain of the invoicing plugin."""

from core.sdk import translation_factory

_ = translation_factory("invoicing")
"""Translation strings of the plugin (domain ``invoicing``)."""
