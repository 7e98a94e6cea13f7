"""Render-and-seal throughput: agreements per second from HTML to a sealed PDF/A.

Each agreement is a realistic processor agreement of about six A4 pages (articles for every art. 28(3)
element, annexes with sub-processors and security measures, a signature page and an audit trail),
different per agreement (number, counterparty, dates). Per agreement the bench times:
- render: `html_to_pdf` (WeasyPrint, PDF/A-2b);
- seal: `seal_pdf` (pyHanko PAdES B-B with the tenant's seal key, read from the key store and
  decrypted, plus the audit line), committed;
- verify: `verify_pdf` of the result (not part of the throughput; the public page's cost).
Every sealed result is verified, so a broken path fails instead of looking fast. The tenant's seal
certificate is issued in an untimed warm-up. `--processes P` runs P forked workers, each with its own
tenant, for the throughput of a machine's cores.
"""
from __future__ import annotations

import multiprocessing
import statistics
from datetime import datetime, timedelta, timezone
from time import perf_counter

ARTICLES = [
    ("Onderwerp en duur", "Deze overeenkomst regelt de verwerking van persoonsgegevens door Verwerker ten behoeve van "
     "Verwerkingsverantwoordelijke in het kader van de dienstverlening zoals beschreven in de hoofdovereenkomst. "
     "De verwerking duurt zolang de hoofdovereenkomst loopt."),
    ("Aard en doel van de verwerking", "Verwerker verzamelt, ordent, bewaart, raadpleegt en verwijdert persoonsgegevens "
     "uitsluitend voor het doel van de opdracht: het benaderen van zakelijke contactpersonen namens de opdrachtgever."),
    ("Soorten persoonsgegevens en categorieën betrokkenen", "Het betreft naam, functie, zakelijk e-mailadres, zakelijk "
     "telefoonnummer en gespreksnotities van contactpersonen van organisaties uit het bestand van de opdrachtgever."),
    ("Schriftelijke instructies", "Verwerker verwerkt de persoonsgegevens uitsluitend op basis van schriftelijke "
     "instructies van Verwerkingsverantwoordelijke, ook wat betreft doorgiften naar een derde land of een internationale "
     "organisatie, tenzij een op Verwerker van toepassing zijnde Unierechtelijke of lidstaatrechtelijke bepaling hem tot "
     "verwerking verplicht. In dat geval stelt Verwerker de Verwerkingsverantwoordelijke voorafgaand aan de verwerking "
     "in kennis van dat wettelijke voorschrift. Verwerker stelt Verwerkingsverantwoordelijke onmiddellijk in kennis "
     "indien naar zijn mening een instructie inbreuk oplevert op de AVG of andere bepalingen inzake gegevensbescherming."),
    ("Vertrouwelijkheid", "Verwerker waarborgt dat de tot het verwerken van de persoonsgegevens gemachtigde personen "
     "zich ertoe hebben verbonden vertrouwelijkheid in acht te nemen of door een passende wettelijke verplichting van "
     "vertrouwelijkheid zijn gebonden. Medewerkers hebben alleen toegang tot de gegevens waarmee zij op dat moment werken."),
    ("Beveiliging (artikel 32 AVG)", "Verwerker neemt alle maatregelen die op grond van artikel 32 AVG vereist zijn, "
     "waaronder in ieder geval de maatregelen uit Bijlage 2. Verwerker evalueert deze maatregelen periodiek en past ze "
     "aan wanneer de stand van de techniek of de risico's daartoe aanleiding geven."),
    ("Andere verwerkers", "Verwerker schakelt geen andere verwerker in zonder voorafgaande specifieke of algemene "
     "schriftelijke toestemming van Verwerkingsverantwoordelijke. Bij algemene toestemming licht Verwerker de "
     "Verwerkingsverantwoordelijke in over beoogde veranderingen inzake de toevoeging of vervanging van andere "
     "verwerkers, waarbij Verwerkingsverantwoordelijke de mogelijkheid wordt geboden tegen deze veranderingen bezwaar te "
     "maken binnen vier weken. Verwerker legt aan andere verwerkers dezelfde verplichtingen op als in deze overeenkomst "
     "en blijft volledig aansprakelijk jegens Verwerkingsverantwoordelijke."),
    ("Rechten van betrokkenen", "Verwerker helpt Verwerkingsverantwoordelijke door middel van passende technische en "
     "organisatorische maatregelen, voor zover mogelijk, bij het vervullen van diens plicht om verzoeken om uitoefening "
     "van de in hoofdstuk III AVG vastgelegde rechten van de betrokkene te beantwoorden, binnen veertien dagen."),
    ("Bijstand bij artikelen 32 tot en met 36", "Verwerker verleent bijstand bij het doen nakomen van de verplichtingen "
     "uit de artikelen 32 tot en met 36 AVG, rekening houdend met de aard van de verwerking en de informatie waarover "
     "hij beschikt, waaronder het melden van inbreuken in verband met persoonsgegevens binnen 24 uur na ontdekking."),
    ("Einde van de overeenkomst", "Na afloop van de verwerkingsdiensten wist Verwerker, naargelang de keuze van "
     "Verwerkingsverantwoordelijke, alle persoonsgegevens of bezorgt hij deze terug, en verwijdert hij bestaande kopieën, "
     "tenzij opslag van de persoonsgegevens Unierechtelijk of lidstaatrechtelijk verplicht is."),
    ("Audits en informatie", "Verwerker stelt alle informatie ter beschikking die nodig is om de nakoming van de in "
     "artikel 28 AVG neergelegde verplichtingen aan te tonen en maakt audits, waaronder inspecties, door "
     "Verwerkingsverantwoordelijke of een door hem gemachtigde controleur mogelijk en draagt eraan bij."),
    ("Aansprakelijkheid en slotbepalingen", "Op deze overeenkomst is Nederlands recht van toepassing. Geschillen worden "
     "voorgelegd aan de bevoegde rechter te Amsterdam. Deze overeenkomst is elektronisch gesloten en bezegeld; zij "
     "voldoet aan artikel 28 lid 9 AVG."),
]
SUB_PROCESSORS = [("Hostingbedrijf Noord B.V.", "NL", "Hosting van de applicatie en databases"),
                  ("Mailservice Europa GmbH", "DE", "Verzenden van transactionele e-mail"),
                  ("Backup Opslag B.V.", "NL", "Versleutelde back-ups, 30 dagen bewaard"),
                  ("Telefonie Partners B.V.", "NL", "Telefooncentrale voor de belagenten")]
MEASURES = ["Versleuteling van persoonsgegevens per organisatie (AES-256-GCM) met een sleutel per betrokkene",
            "Rijbeveiliging in de database zodat organisaties elkaars gegevens niet kunnen lezen",
            "Tweefactorauthenticatie voor beheerders en logging van elke inzage",
            "Need-to-know: agenten zien alleen de records waaraan zij werken",
            "Dagelijkse versleutelde back-ups; wissen door vernietiging van sleutels",
            "Jaarlijkse penetratietest en een verwerkingsregister volgens artikel 30 AVG"]


def agreement_html(n: int) -> str:
    """A processor agreement of about six pages; `n` varies number, counterparty and dates."""
    number = f"VO-2026-{n:04d}"
    signed = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc) + timedelta(hours=n)
    articles = "".join(
        f'<section class="article"><h2>Artikel {i}. {title}</h2><p>{text}</p><p>{text}</p></section>'
        for i, (title, text) in enumerate(ARTICLES, start=1))
    subs = "".join(f"<tr><td>{name}</td><td>{country}</td><td>{purpose}</td></tr>" for name, country, purpose in SUB_PROCESSORS)
    measures = "".join(f"<li>{m}</li>" for m in MEASURES * 2)
    events = "".join(
        f"<tr><td>{(signed + timedelta(minutes=7 * k)):%Y-%m-%d %H:%M:%S} UTC</td><td>{kind}</td>"
        f"<td>192.0.2.{(n + k) % 250}</td><td class=\"mono\">{(str(n) * 64)[:64]}</td></tr>"
        for k, kind in enumerate(["aangemaakt", "verzonden", "geopend", "code verstuurd", "code juist",
                                  "bekeken", "ondertekend", "medeondertekend", "bezegeld"] * 2))
    return f"""<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>Verwerkersovereenkomst {number}</title></head>
<body><h1>Verwerkersovereenkomst {number}</h1><p data-reference="{number}"></p>
<table><tr><th>Verwerkingsverantwoordelijke</th><td>Opdrachtgever {n} B.V., KvK {10000000 + n}</td></tr>
<tr><th>Verwerker</th><td>Leadhunter B.V., KvK 12345678</td></tr><tr><th>Datum</th><td>{signed:%d-%m-%Y}</td></tr></table>
{articles}
<h2 class="page-break">Bijlage 1. Andere verwerkers</h2><table><thead><tr><th>Naam</th><th>Land</th><th>Doel</th></tr></thead>{subs}</table>
<h2>Bijlage 2. Beveiligingsmaatregelen</h2><ul>{measures}</ul>
<h2 class="page-break">Ondertekening</h2>
<div class="signature-block"><p>Namens Opdrachtgever {n} B.V.: J. de Vries, directeur, bevoegd om te tekenen.</p>
<p>Ondertekend op {signed:%Y-%m-%d %H:%M} UTC.</p></div>
<div class="signature-block"><p>Namens Leadhunter B.V.: A. Jansen, functionaris gegevensbescherming.</p></div>
<h2>Audittrail</h2><table class="small"><thead><tr><th>Tijd</th><th>Gebeurtenis</th><th>IP-adres</th><th>SHA-256</th></tr></thead>{events}</table>
</body></html>"""


def _pages(pdf: bytes) -> int:
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    return len(PdfFileReader(io.BytesIO(pdf)).root["/Pages"]["/Kids"])


def _new_tenant(name: str) -> int:
    from saas.core import tenancy
    from saas.extensions import db
    from saas.modules.tenants import operations as tenants

    tenancy.set_tenant(None)
    tenant, _ = tenants.upsert(f"bench-{name.lower().replace(' ', '-')}", name=name, plugins=[])
    db.session.commit()
    tenancy.set_tenant(tenant.id)
    return tenant.id


def _run_worker(app, worker: int, count: int, queue) -> None:
    """One worker: its own tenant; returns (render, seal, verify) seconds per agreement."""
    from saas.extensions import db
    from saas.modules.seals.operations import seal_pdf
    from saas.modules.seals.pdf import html_to_pdf
    from saas.modules.seals.verify import verify_pdf

    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)  # a forked child must not share the parent's connections
        tenant_id = _new_tenant(f"Bench Worker {worker}")
        seal_pdf(tenant_id, html_to_pdf(agreement_html(0)), reason="warm-up")  # issues the seal certificate
        db.session.commit()
        timings = []
        for n in range(1, count + 1):
            t0 = perf_counter()
            pdf = html_to_pdf(agreement_html(worker * 100000 + n))
            t1 = perf_counter()
            sealed = seal_pdf(tenant_id, pdf, reason="Verwerkersovereenkomst voltooid", location="Nederland")
            db.session.commit()
            t2 = perf_counter()
            result = verify_pdf(sealed)
            t3 = perf_counter()
            if not result.valid:
                raise RuntimeError(f"bench: sealed agreement {n} does not verify: {result.reason}")
            timings.append((t1 - t0, t2 - t1, t3 - t2, _pages(sealed), len(sealed)))
    queue.put(timings)


def run(count: int, db_kind: str, processes: int) -> dict:
    from bench.encryption import bench_app

    with bench_app(db_kind) as (app, _plain):
        ctx = multiprocessing.get_context("fork")
        queue = ctx.Queue()
        started = perf_counter()
        workers = [ctx.Process(target=_run_worker, args=(app, w, count, queue)) for w in range(processes)]
        for worker in workers:
            worker.start()
        results = [queue.get() for _ in workers]
        for worker in workers:
            worker.join()
            if worker.exitcode:
                raise RuntimeError(f"bench worker ended with exit code {worker.exitcode}")
        wall = perf_counter() - started
    timings = [t for result in results for t in result]
    figures = _figures(timings, processes)
    _print(figures, count, db_kind, processes, wall)
    return figures


def _figures(timings, processes: int) -> dict:
    render = [t[0] for t in timings]
    seal = [t[1] for t in timings]
    verify = [t[2] for t in timings]
    both = [r + s for r, s in zip(render, seal)]
    return {
        "agreements": len(timings),
        "pages": statistics.median(t[3] for t in timings),
        "kib": statistics.median(t[4] for t in timings) / 1024,
        "render_ms": statistics.median(render) * 1000,
        "seal_ms": statistics.median(seal) * 1000,
        "verify_ms": statistics.median(verify) * 1000,
        "p95_ms": sorted(both)[max(0, int(len(both) * 0.95) - 1)] * 1000,
        "per_second": processes / statistics.mean(both),
    }


def _print(f: dict, count: int, db_kind: str, processes: int, wall: float) -> None:
    print(f"render-and-seal: {f['agreements']} agreements ({count} per process, {processes} process(es), {db_kind}); "
          f"{f['pages']:.0f} pages, {f['kib']:.0f} KiB each (sealed)")
    print(f"  median per agreement: render {f['render_ms']:.0f} ms, seal {f['seal_ms']:.0f} ms "
          f"(render+seal p95 {f['p95_ms']:.0f} ms); verify {f['verify_ms']:.0f} ms")
    print(f"  throughput: {f['per_second']:.2f} agreements/s rendered and sealed "
          f"(wall clock incl. start-up and verification: {wall:.1f} s)")


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench seal", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30, help="agreements per process (default 30)")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--processes", type=int, default=1, help="forked workers, one tenant each (default 1)")
    args = parser.parse_args(argv)
    if args.n < 1 or args.processes < 1:
        parser.error("--n and --processes must be at least 1")
    run(args.n, args.db, args.processes)
    return 0

