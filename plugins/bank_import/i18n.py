"""The translation domain of the bank_import plugin."""

from core.sdk import translation_factory

_ = translation_factory("bank_import")
"""Translation strings of the plugin (domain ``bank_import``)."""
