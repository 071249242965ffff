"""`bench/run [options]`: the side-by-side benchmark; `bench/run --smoke`: CI's error check."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from oidcbench import install, machine, report, runner
from oidcbench.workloads import WORKLOADS

ROOT = install.BENCH_DIR.parent
RESULTS = install.BENCH_DIR / "results"
DOC = ROOT / "docs" / "benchmark.md"
DEFAULT_POSTGRES = "postgresql://root@127.0.0.1:5432/test"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench/run", description=__doc__)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="1 round × 3 s (a look, not a result)")
    mode.add_argument(
        "--smoke", action="store_true", help="idgate alone, short; fails only on errors (CI)"
    )
    p.add_argument("--rounds", type=int, help="rounds (default 3)")
    p.add_argument("--duration", type=float, help="seconds per workload and product (default 10)")
    p.add_argument(
        "--warmup", type=float, help="unmeasured seconds per workload first (default 2, quick 0)"
    )
    p.add_argument("--connections", type=int, default=None, help="wrk connections (default 32)")
    p.add_argument(
        "--postgres",
        nargs="?",
        const=DEFAULT_POSTGRES,
        metavar="ADMIN_URL",
        help=f"idgate on PostgreSQL; a database is made and dropped (default {DEFAULT_POSTGRES})",
    )
    p.add_argument("--only", help="comma-separated workloads, e.g. W3,W5")
    p.add_argument("--no-node", action="store_true", help="idgate alone")
    p.add_argument("--no-workers2", action="store_true", help="skip the idgate --workers 2 line")
    p.add_argument(
        "--docs",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write the table into docs/benchmark.md (default: full runs only)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    smoke, quick = args.smoke, args.quick
    rounds = args.rounds or (1 if smoke or quick else 3)
    duration = args.duration or (2.0 if smoke else 3.0 if quick else 10.0)
    connections = args.connections or (8 if smoke else 32)
    warmup = args.warmup if args.warmup is not None else (0.0 if smoke or quick else 2.0)
    with_node = not (smoke or args.no_node)
    workloads = WORKLOADS
    if args.only:
        keys = {k.strip().upper() for k in args.only.split(",")}
        workloads = tuple(w for w in WORKLOADS if w.key in keys)
    mode = "smoke" if smoke else "quick" if quick else "full"
    write_docs = args.docs if args.docs is not None else (mode == "full" and not args.only)

    try:
        wrk = install.ensure_wrk()
        if with_node:
            install.ensure_node_modules()
    except install.SetupError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"{stamp}-{mode}{'-postgres' if args.postgres else ''}"
    run_dir = RESULTS / name
    run_dir.mkdir(parents=True, exist_ok=True)
    plan = runner.Plan(
        rounds=rounds,
        duration_s=duration,
        warmup_s=warmup,
        connections=connections,
        workloads=workloads,
        with_node=with_node,
        with_workers2=not (smoke or args.no_workers2),
        postgres_admin_url=args.postgres,
        run_dir=run_dir,
        wrk=wrk,
    )
    info = machine.describe(with_node)
    print(f"bench: {mode} run, logs in {run_dir}", flush=True)
    try:
        measurements, skipped, notes = runner.execute(plan)
    except (RuntimeError, OSError) as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2
    finally:
        for leftover in [*run_dir.glob("*.db*"), *run_dir.glob("*.txt")]:
            leftover.unlink(missing_ok=True)

    settings: dict[str, object] = {
        "mode": mode,
        "rounds": rounds,
        "duration_s": duration,
        "connections": connections,
        "warmup_s": warmup,
        "database": "PostgreSQL" if args.postgres else "SQLite",
        **notes,
    }
    summaries = report.summarise(measurements, workloads)
    table = report.markdown(summaries, skipped, workloads, info, settings)
    results = RESULTS / f"{name}.json"
    report.write_json(
        results,
        {
            "machine": info,
            "settings": settings,
            "summaries": [s.__dict__ for s in summaries],
            "skipped": [s.__dict__ for s in skipped],
            "measurements": [m.to_json() for m in measurements],
        },
    )
    print()
    print(table)
    print(f"bench: results in {results.relative_to(ROOT)}")
    if write_docs:
        report.write_docs(DOC, table, results.name)
        print(f"bench: table written to {DOC.relative_to(ROOT)}")
    errors = sum(s.errors for s in summaries)
    if errors:
        print(f"bench: FAILED: {errors} errors (see {run_dir.relative_to(ROOT)})", file=sys.stderr)
        return 1
    if not measurements:
        print("bench: FAILED: nothing was measured", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
