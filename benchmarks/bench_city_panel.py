"""Time reading the fifteen FBI city tables and assembling the city panels.

Run ``.venv/bin/python benchmarks/bench_city_panel.py``; prints the wall
time (``time.perf_counter``, median of three runs in fresh processes) of:
reading and parsing the 2005-2019 tables from the shipped files (13 ``.xls``
read with xlrd, 153 CSV files), the whole assembly (tables, geocodes, Kaplan
crosswalk, county links), and building the ``city_year`` panel from it.
Nothing is cached between runs: each run is a new process. Not a test:
timings depend on the machine and its load.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

CHILD = """
import json, time, warnings
warnings.simplefilter("ignore")
start = time.perf_counter()
from analysis.sources import fbi_city
fbi_city.load_city_tables()
tables = time.perf_counter() - start
from analysis.panels import city
start = time.perf_counter()
city._assemble()
assembly = time.perf_counter() - start
start = time.perf_counter()
city.build_city_year()
panel = time.perf_counter() - start
print(json.dumps({"read tables": tables, "assemble (tables + links)": assembly,
                  "city_year from assembly": panel}))
"""


def main(repeats: int = 3) -> None:
    runs = []
    for _ in range(repeats):
        output = subprocess.run([sys.executable, "-c", CHILD], capture_output=True,
                                text=True, check=True).stdout
        runs.append(json.loads(output.strip().splitlines()[-1]))
    for step in runs[0]:
        values = [run[step] for run in runs]
        print(f"{step:<28} median {statistics.median(values):5.2f} s  "
              f"(runs: {', '.join(f'{v:.2f}' for v in values)})")


if __name__ == "__main__":
    main()
