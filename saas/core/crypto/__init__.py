"""Envelope encryption: master key -> tenant key -> per-subject key."""
