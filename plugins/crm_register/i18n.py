"""The translation domain of the client register."""

from core.sdk import translation_factory

_ = translation_factory("crm_register")
"""Translation strings of the plugin (domain ``crm_register``)."""
