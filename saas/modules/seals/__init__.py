"""Seals: PDF/A rendering, the platform CA with per-tenant seal certificates, PAdES sealing and verification.

The API other features call (all inside the tenant's context where a tenant is named):

    from saas.modules.seals.pdf import html_to_pdf            # HTML -> PDF/A-2b (PDF/A-3b with attachments)
    from saas.modules.seals.operations import seal_pdf, sha256_hex
    from saas.modules.seals.verify import verify_pdf          # -> Verification(valid, reason, signer, ...)
    from saas.modules.seals.isolation import verify_untrusted # the same, for a file from outside: in a
                                                              #  separate, limited process (raises Refused)

    pdf = html_to_pdf(html, attachments=[("audit.json", data)])   # header: the current tenant's name
    sealed = seal_pdf(tenant_id, pdf, reason="...", location="")  # the caller commits (a first seal
    sha = sha256_hex(sealed)                                       #  issues the seal certificate)
    result = verify_pdf(sealed)

`saas seals ca-cert | issue --tenant SLUG | verify FILE.pdf`; public pages `/verify` and `/verify/ca.pem`.
"""
