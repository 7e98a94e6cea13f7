"""Envelope encryption: master key -> tenant key -> per-subject key (DESIGN.md section 3)."""
