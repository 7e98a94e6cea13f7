"""Processing activities of an administration office (seed 001), weighed by the six bases in order."""
from __future__ import annotations

from plugins.fiscal import rules
from saas.plugins.definitions import ProcessingActivity

ACTIVITIES = [
    ProcessingActivity(
        name="fiscal.client_administration", version=1,
        purpose="Invoicing and carrying out the work clients commission, and keeping the records the fiscal "
                "retention duty requires.",
        subject_categories=rules.CATEGORIES,
        data_categories=("name and address", "e-mail and telephone", "bank account (IBAN)",
                         "financial data needed for the commissioned work"),
        legal_basis="contract",
        not_applicable=(("consent", "The work is done under an engagement that needs the data; consent is "
                                    "asked only of prospective clients without an engagement."),),
        recipients=("third parties when the law requires it or the commissioned work needs it, under written "
                    "agreements; never for commercial purposes",),
        transfers=(),
        retention_policies=tuple(p.name for p in rules.POLICIES),
        source="Persoonsgegevens worden voornamelijk verzameld en vastgelegd voor de facturering en/of het goed "
               "uitvoeren van de werkzaamheden die wij in opdracht van onze cliënten uitvoeren en verder voor de "
               "naleving van eventuele wettelijke verplichtingen.",
        seed="001, Grondslag en doel",
    ),
]
