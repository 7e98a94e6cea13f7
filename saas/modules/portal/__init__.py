"""The portal's way into a tenant: which tenant a URL names and whether the user may enter it."""
