"""Background jobs of a tenant for its admins: running and failed jobs, retry, progress."""
