"""`python -m bench [--n N] [--db sqlite|postgresql] [--repeat R]`"""
import argparse
import sys

from bench import encryption


def main(argv=None) -> int:
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
