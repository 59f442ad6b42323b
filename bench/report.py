#!/usr/bin/python3
"""Markdown report of bench/results/results.csv."""
import csv
import sys

path, cores, version, runs, seconds = sys.argv[1:6]
rows = list(csv.DictReader(open(path)))
print("# Benchmark results\n")
print("%s cores, PostgreSQL %s; each figure the median of %s runs of %s s (min-max), "
      "the two sides of a pair alternated. Reproduce: `bench/run.sh`.\n" % (cores, version, runs, seconds))
print("| secrets | benchmark | clients | A (tps) | B (tps) | A / B |")
print("|---|---|---|---|---|---|")
for r in rows:
    print("| %s | %s | %s | %s: %.0f (%.0f-%.0f) | %s: %.0f (%.0f-%.0f) | %s |" % (
        r["size"], r["benchmark"], r["clients"],
        r["a"], float(r["a_median"] or 0), float(r["a_min"] or 0), float(r["a_max"] or 0),
        r["b"], float(r["b_median"] or 0), float(r["b_min"] or 0), float(r["b_max"] or 0),
        r["ratio_a_over_b"]))
