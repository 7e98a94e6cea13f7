"""The one erasure path: every erasure of a data subject (portal, API, a re-consent "no", retention sweeps)."""
