"""Benchmarks, run with one command: `make bench` (= `python -m bench`). See bench/README.md."""
