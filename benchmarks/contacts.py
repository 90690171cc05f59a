"""Contacts at scale: bulk import, and (when their modules exist) the filter language and full-text search.

Parts:
  import  a generated CSV of --rows rows (deterministic, seed 6) with messy real-world phone formats (UAE
          mobiles as 0501234567, +971 50 123 4567, 00971..., 971..., 9710..., dashes, brackets, Arabic-Indic
          digits; foreign numbers in international form; landlines; junk; repeated people), imported
          --repeats times, interleaved, by:
            linda     `linda contacts import FILE --region AE` into a fresh SQLite file (and PostgreSQL database
                      with --backends sqlite,postgres)
            pandas    a plain pandas + phonenumbers script (BASELINE below): read_csv, normalize each phone
                      cell, keep the first valid mobile per row, drop duplicates, to_sql into SQLite
          each in its own process: rows/s (file rows / wall time) and peak RSS (the sampled sum over the
          importing process and its worker; ru_maxrss is kept too). Afterwards every run's stored numbers are
          compared with the generator's truth: each valid mobile imported once, nothing else.
  memory  Linda (SQLite) importing the first 10%, 30% and all --rows of that CSV: peak RSS by file size.
  filter  benchmarks/contacts_filter.py's run(args), when that module exists
  search  benchmarks/contacts_search.py's run(args), when that module exists
Results: benchmarks/results/contacts.json (machine, parameters, raw repeats, medians, ratios, targets).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import importlib.util
import json
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import phonenumbers

from benchmarks import harness
from benchmarks.harness import ROOT, Row

RESULTS = ROOT / "benchmarks" / "results" / "contacts.json"
PAGE = os.sysconf("SC_PAGE_SIZE")
PARTS = ("import", "memory", "filter", "search")
GOAL = {"min_ratio_to_pandas": 2.0, "max_rss_mb": 500.0}
SEED = 6
ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
NAMES = ("Ali", "Sara", "Omar", "Fatima", "Priya", "John", "Aisha", "Yusuf", "Maria", "Hassan", "علي", "سارة")
COMMUNITIES = ("Vardon", "Amazonia", "Marina", "JVC", "Downtown", "Damac Hills")

BASELINE = """
import sys
import sqlite3
import pandas as pd
import phonenumbers

MOBILE = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}


def normalize(raw):
    if not raw:
        return None
    try:
        number = phonenumbers.parse(raw, "AE")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number) or phonenumbers.number_type(number) not in MOBILE:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


source, target = sys.argv[1], sys.argv[2]
frame = pd.read_csv(source, dtype=str, keep_default_na=False)
phone = frame["Phone"].map(normalize)
for column in ("Mobile", "Second Mobile"):
    phone = phone.fillna(frame[column].map(normalize))
frame["e164"] = phone
frame = frame.dropna(subset=["e164"]).drop_duplicates(subset=["e164"], keep="first")
with sqlite3.connect(target) as connection:
    frame.to_sql("contacts", connection, index=False, chunksize=10000)
"""


def person(index: int) -> str:
    """Person `index`'s number in clean international form: mostly UAE mobiles, some foreign, some landlines."""
    if index % 50 == 7:
        return f"+447911{index % 1_000_000:06d}"
    if index % 33 == 5:
        return f"+9714{index % 10_000_000:07d}"  # a Dubai landline: not mobile
    return f"+9715{'024568'[index % 6]}{(index // 6 * 7919) % 10_000_000:07d}"


def messy(international: str, rng: random.Random) -> str:
    """`international` as people type it into spreadsheets."""
    if not international.startswith("+971"):
        return rng.choice(
            (international, "00" + international[1:], international[:3] + " " + international[3:])
        )
    n = international[4:]
    a, b, c = n[:2], n[2:5], n[5:]
    forms = (
        f"0{n}", f"+971{n}", f"+971 {a} {b} {c}", f"00971{n}", f"971{n}", f"9710{n}",
        f"0{a}-{b}-{c}", f"(0{a}) {b}{c}", f" +971-{a}-{b}-{c} ", f"0{n}".translate(ARABIC_DIGITS),
    )  # fmt: skip
    return rng.choice(forms)


def generate(path: Path, rows: int) -> set[str]:
    """Write the CSV; the set of E.164 mobiles that a correct import stores (each exactly once)."""
    rng = random.Random(SEED)
    pool = rows * 3  # people drawn with replacement: about one row in seven repeats someone
    truth: set[str] = set()
    mobile = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
    with path.open("w", encoding="utf-8", newline="") as file:
        file.write("Name,Phone,Mobile,Second Mobile,Community,Tags\n")
        for _ in range(rows):
            who = person(rng.randrange(pool))
            junk = rng.random()
            if junk < 0.02:
                phone, mobile_cell, second = rng.choice(("n/a", "12345", "", "call office")), "", ""
            else:
                cell = messy(who, rng)
                where = rng.random()
                phone, mobile_cell, second = (
                    (cell, "", "") if where < 0.7 else ("", cell, "") if where < 0.9 else ("-", "", cell)
                )
                parsed = phonenumbers.parse(who)
                if phonenumbers.number_type(parsed) in mobile:
                    truth.add(who)
            name = rng.choice(NAMES)
            file.write(f"{name},{phone},{mobile_cell},{second},{rng.choice(COMMUNITIES)},lead\n")
    return truth


def tree_rss(pid: int) -> int:
    """Resident bytes of process `pid` and all its descendants now, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parent = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        with contextlib.suppress(OSError, IndexError, ValueError):
            total += int(Path(f"/proc/{current}/statm").read_text().split()[1]) * PAGE
    return total


def run_measured(command: list[str], env: dict[str, str] | None = None) -> Row:
    """Run `command` to its end: wall seconds, the peak RSS of that process (ru_maxrss), the peak of the RSS
    summed over it and its child processes (sampled every 0.2 s), its exit code and error output.

    ru_maxrss also counts what this process held when it started the child (Linux records the high-water mark
    of the address space the child had before exec, a copy of this one): an upper bound. The sampled peak is
    what the import itself held, with its worker process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    assert process.stderr is not None
    peak = 0
    finished = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not finished.wait(0.2):
            peak = max(peak, tree_rss(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    finished.set()
    sampler.join()
    error = process.stderr.read().decode(errors="replace")[-2000:]
    process.returncode = os.waitstatus_to_exitcode(status)
    return {
        "seconds": seconds,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "peak_tree_rss_mb": peak / 2**20,
        "exit": process.returncode,
        "stderr": error,
    }


def stored_sqlite(path: Path, column: str = "phone") -> list[str]:
    with contextlib.closing(sqlite3.connect(path)) as connection:
        return [row[0] for row in connection.execute(f"SELECT {column} FROM contacts")]


async def stored_postgres(url: str) -> list[str]:
    import asyncpg  # type: ignore[import-untyped]

    connection = await asyncpg.connect(url)
    try:
        return [row[0] for row in await connection.fetch("SELECT phone FROM contacts")]
    finally:
        await connection.close()


def check(stored: list[str], truth: set[str]) -> Row:
    unique = set(stored)
    return {
        "stored": len(stored),
        "expected": len(truth),
        "duplicates": len(stored) - len(unique),
        "missing": len(truth - unique),
        "unexpected": len(unique - truth),
        "exact": len(stored) == len(unique) and unique == truth,
    }


def linda_import(csv_path: Path, backend: str, scratch: Path, truth: set[str]) -> Row:
    with harness.database(backend) as url:
        env = harness.clean_env(LINDA_DATABASE_URL=url)
        subprocess.run([sys.executable, "-m", "linda", "db", "upgrade"], env=env, check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        rejects = scratch / "rejects.csv"
        command = [sys.executable, "-m", "linda", "contacts", "import", str(csv_path), "--region", "AE"]
        result = run_measured([*command, "--rejects", str(rejects)], env)
        if backend == "sqlite":
            stored = stored_sqlite(Path(url.removeprefix("sqlite:///")))
        else:
            stored = asyncio.run(stored_postgres(url))
    return {**result, "check": check(stored, truth)}


def pandas_import(csv_path: Path, scratch: Path, truth: set[str]) -> Row:
    script = scratch / "baseline.py"
    script.write_text(BASELINE)
    target = scratch / "pandas.db"
    target.unlink(missing_ok=True)
    result = run_measured([sys.executable, str(script), str(csv_path), str(target)])
    stored = stored_sqlite(target, "e164") if result["exit"] == 0 else []
    target.unlink(missing_ok=True)
    return {**result, "check": check(stored, truth)}


def summary(values: list[float]) -> Row:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "repeats": values}


def import_part(args: argparse.Namespace) -> Row:
    backends = args.backends.split(",")
    with tempfile.TemporaryDirectory(prefix="linda-contacts-bench-") as tmp:
        scratch = Path(tmp)
        csv_path = scratch / "contacts.csv"
        started = time.perf_counter()
        truth = generate(csv_path, args.rows)
        print(f"generated {args.rows:,} rows ({csv_path.stat().st_size / 1e6:.0f} MB) in "
              f"{time.perf_counter() - started:.0f} s; {len(truth):,} distinct valid mobiles", flush=True)  # fmt: skip
        runs: dict[str, list[Row]] = {name: [] for name in ["pandas", *(f"linda_{b}" for b in backends)]}
        for repeat in range(args.repeats):
            for name in runs:
                if name == "pandas":
                    row = pandas_import(csv_path, scratch, truth)
                else:
                    row = linda_import(csv_path, name.removeprefix("linda_"), scratch, truth)
                row["rows_per_s"] = args.rows / row["seconds"]
                runs[name].append(row)
                print(f"repeat {repeat + 1} {name}: {row['rows_per_s']:,.0f} rows/s, peak RSS "
                      f"{row['peak_rss_mb']:.0f} MB (with child processes {row['peak_tree_rss_mb']:.0f} MB), "
                      f"exit {row['exit']}, exact {row['check']['exact']}",
                      flush=True)  # fmt: skip
    medians = {name: {"rows_per_s": summary([r["rows_per_s"] for r in rows]),
                      "peak_rss_mb": summary([r["peak_rss_mb"] for r in rows]),
                      "peak_tree_rss_mb": summary([r["peak_tree_rss_mb"] for r in rows])}
               for name, rows in runs.items()}  # fmt: skip
    ratios = {
        name: summary([r["rows_per_s"] / p["rows_per_s"] for r, p in zip(rows, runs["pandas"], strict=True)])
        for name, rows in runs.items()
        if name != "pandas"
    }
    met = {
        name: {
            "ratio_to_pandas": ratios[name]["median"] >= GOAL["min_ratio_to_pandas"],
            "rss": max(r["peak_tree_rss_mb"] for r in runs[name]) < GOAL["max_rss_mb"],
            "every_valid_row_once": all(r["check"]["exact"] and r["exit"] == 0 for r in runs[name]),
        }
        for name in ratios
    }
    return {
        "rows": args.rows,
        "repeats": args.repeats,
        "backends": backends,
        "distinct_valid_mobiles": len(truth),
        "runs": runs,
        "medians": medians,
        "ratio_to_pandas_same_repeat": ratios,
        "goal": GOAL,
        "met": met,
    }


def memory_part(args: argparse.Namespace) -> Row:
    sizes = [args.rows // 10, args.rows * 3 // 10, args.rows]
    runs: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="linda-contacts-bench-") as tmp:
        scratch = Path(tmp)
        whole = scratch / "contacts.csv"
        generate(whole, args.rows)
        lines = whole.read_text(encoding="utf-8").splitlines(keepends=True)
        for rows in sizes:
            part = scratch / f"first-{rows}.csv"
            part.write_text("".join(lines[: rows + 1]), encoding="utf-8")
            with harness.database("sqlite") as url:
                env = harness.clean_env(LINDA_DATABASE_URL=url)
                subprocess.run([sys.executable, "-m", "linda", "db", "upgrade"], env=env, check=True, cwd=ROOT,
                               stdout=subprocess.DEVNULL)  # fmt: skip
                command = [sys.executable, "-m", "linda", "contacts", "import", str(part), "--region", "AE"]
                row = run_measured([*command, "--rejects", str(scratch / "rejects.csv")], env)
            runs.append({"rows": rows, **{k: row[k] for k in ("seconds", "peak_tree_rss_mb", "exit")}})
            print(f"{rows:,} rows: peak RSS {row['peak_tree_rss_mb']:.0f} MB, exit {row['exit']}", flush=True)
    return {"backend": "sqlite", "runs": runs}


def other_part(name: str, args: argparse.Namespace) -> Row:
    module = f"benchmarks.contacts_{name}"
    if importlib.util.find_spec(module) is None:
        return {"skipped": f"{module} does not exist yet"}
    result: Row = importlib.import_module(module).run(part_args(args))
    return result


def part_args(args: argparse.Namespace) -> argparse.Namespace:
    """The options for another part's run(): its own (`--filter-...`, `--search-...`) and the backends as it
    names them; not the import's --rows and --repeats, which mean other things there."""
    given = {k: v for k, v in vars(args).items() if k not in ("rows", "repeats", "output", "parts")}
    backends = args.backends.split(",")
    given["backends"] = "both" if len(backends) > 1 else backends[0]
    return argparse.Namespace(**given)


def machine() -> Row:
    def installed(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    return {
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "packages": {n: installed(n) for n in ("phonenumbers", "pandas", "pyarrow", "sqlalchemy", "asyncpg")},
        "load_average_at_start": os.getloadavg(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, of {', '.join(PARTS)}")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the generated CSV")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats per importer")
    parser.add_argument("--backends", default="sqlite", help="Linda's databases: sqlite, postgres or both")
    parser.add_argument("--filter-contacts", type=int, help="filter: contacts to generate (its default)")
    parser.add_argument("--filter-queries", type=int, help="filter: timed queries per filter (its default)")
    parser.add_argument("--search-messages", type=int, help="search: messages in the corpus (its default)")
    parser.add_argument("--search-repeats", type=int, help="search: timed searches per query (its default)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    parts = [p for p in args.parts.split(",") if p]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    results: Row = {
        "benchmark": "contacts",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "parameters": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
    }
    for part in parts:
        run = {"import": import_part, "memory": memory_part}.get(part)
        started = datetime.now(UTC).isoformat(timespec="seconds")
        results[part] = {"started": started, **(run(args) if run else other_part(part, args))}
    previous: Row = json.loads(args.output.read_text()) if args.output.exists() else {}
    for part in PARTS:  # a run of some parts keeps the others' last results (with their own "started")
        if part not in results and part in previous:
            results[part] = previous[part]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"results: {args.output}")


if __name__ == "__main__":
    main()
