"""consents feature."""
