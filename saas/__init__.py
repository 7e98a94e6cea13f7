"""AVG/GDPR promises as working software."""
from saas.app import create_app

__all__ = ["create_app"]
