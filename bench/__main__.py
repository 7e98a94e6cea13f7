"""`python -m bench [--n N] [--db sqlite|postgresql] [--repeat R]` (encryption) and
`python -m bench sweep [--subjects N] [--batch B]` (retention sweep) and
`python -m bench signing [--db sqlite|postgresql] [--clients 20] [--seconds 20]` (signing page latency) and
`python -m bench seal [--n 30] [--db sqlite|postgresql] [--processes 1]` (render-and-seal throughput) and
`python -m bench backups [--subjects 25000]` (tenant backup create/verify/restore on PostgreSQL) and
`python -m bench exports [--people 100000]` (a client's database downloaded as CSV, XLSX and JSON) and
`python -m bench imports [--rows 10000] [--existing 100000]` (import with cross-matching)."""
import argparse
import sys

from bench import encryption


def sweep_main(argv) -> int:
    from bench import sweep

    parser = argparse.ArgumentParser(prog="python -m bench sweep", description=sweep.__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=1_000_000,
                        help="subjects of the large tenant (default 1,000,000; the small one has a tenth)")
    parser.add_argument("--batch", type=int, default=None,
                        help="subjects per sweep batch (default: the sweep's own, 10000)")
    parser.add_argument("--profile", metavar="FILE", help="also write a cProfile of the large sweep to FILE")
    args = parser.parse_args(argv)
    if args.subjects < 1000 or (args.batch is not None and args.batch < 1):
        parser.error("--subjects must be at least 1000 and --batch at least 1")
    return 0 if sweep.run(args.subjects, args.batch, args.profile) else 1


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["sweep"]:
        return sweep_main(argv[1:])
    if argv[:1] == ["signing"]:
        from bench import signing

        return signing.main(argv[1:])
    if argv[:1] == ["backups"]:
        from bench import backups

        return backups.main(argv[1:])
    if argv[:1] == ["exports"]:
        from bench import exports

        return exports.main(argv[1:])
    if argv[:1] == ["imports"]:
        from bench import imports

        return imports.main(argv[1:])
    if argv[:1] == ["seal"]:
        from bench import seal

        return seal.main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m bench", description=encryption.__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="data subjects stored and loaded per run (default 5000)")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite",
                        help="sqlite (the embedded default) or a throwaway PostgreSQL cluster with RLS")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement (default 3)")
    parser.add_argument("--profile", metavar="FILE",
                        help="also write a cProfile of one encrypted store+load run to FILE")
    args = parser.parse_args(argv)
    if args.n < 1 or args.repeat < 1:
        parser.error("--n and --repeat must be at least 1")
    encryption.run(args.n, args.db, args.repeat, args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
