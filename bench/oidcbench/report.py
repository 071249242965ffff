"""Medians, ratios, the Markdown table and the JSON results file."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path

from oidcbench.runner import IDGATE, IDGATE_W2, NODE, Measurement, Skipped
from oidcbench.workloads import Workload

_START = "<!-- bench:results:start -->"
_END = "<!-- bench:results:end -->"


@dataclass(frozen=True)
class Summary:
    """One product on one workload: medians over the rounds."""

    product: str
    workload: str
    runs: int
    rate: float  # req/s, or flows/s for W9
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    server_cpu_s: float
    cpu_us_per_unit: float
    peak_rss_mib: float
    wrk_cpu_pct: float


def summarise(measurements: list[Measurement], workloads: tuple[Workload, ...]) -> list[Summary]:
    units = {w.key: w.unit for w in workloads}
    groups: dict[tuple[str, str], list[Measurement]] = {}
    for m in measurements:
        groups.setdefault((m.product, m.workload), []).append(m)
    out = []
    for (product, key), ms in groups.items():
        flows = units.get(key) == "flows/s"
        rates = [m.completed_ps if flows else m.rps for m in ms]
        per_unit = [m.server_cpu_s / max(m.completed if flows else m.requests, 1) * 1e6 for m in ms]
        out.append(
            Summary(
                product=product,
                workload=key,
                runs=len(ms),
                rate=round(statistics.median(rates), 1),
                rps=round(statistics.median(m.rps for m in ms), 1),
                p50_ms=round(statistics.median(m.p50_ms for m in ms), 2),
                p99_ms=round(statistics.median(m.p99_ms for m in ms), 2),
                errors=sum(m.errors for m in ms),
                server_cpu_s=round(statistics.median(m.server_cpu_s for m in ms), 2),
                cpu_us_per_unit=round(statistics.median(per_unit), 0),
                peak_rss_mib=max(m.server_peak_rss_mib for m in ms),
                wrk_cpu_pct=round(
                    statistics.median(m.wrk_cpu_s / m.duration_s * 100 for m in ms), 0
                ),
            )
        )
    return out


def _fmt_rate(v: float) -> str:
    return f"{v:,.0f}" if v >= 100 else f"{v:,.1f}"


def markdown(
    summaries: list[Summary],
    skipped: list[Skipped],
    workloads: tuple[Workload, ...],
    machine: dict[str, object],
    settings: dict[str, object],
) -> str:
    by = {(s.product, s.workload): s for s in summaries}
    products = [p for p in (NODE, IDGATE, IDGATE_W2) if any(s.product == p for s in summaries)]
    lines = [
        f"Run of {machine['date']} on {machine['nproc']} × {machine['cpu_model']} "
        f"({machine['memory_gib']} GiB, Linux {machine['kernel']}); "
        f"{settings['rounds']} rounds × {settings['duration_s']:g} s per workload and product, "
        f"{settings['connections']} connections, medians; idgate on {settings['database']}. "
        f"Servers pinned to core {settings['server_cores']}, wrk to core {settings['load_cores']}"
        + (" (idgate --workers 2 unpinned)." if IDGATE_W2 in products else "."),
        "",
        f"Versions: idgate {machine['idgate']} on Python {machine['python']}, "
        f"uvicorn {machine['uvicorn']}, SQLite {machine['sqlite']}"
        + (
            f"; oidc-provider {machine['oidc_provider']} on Node.js {machine['node']}"
            if "oidc_provider" in machine
            else ""
        )
        + f"; {machine['wrk']}.",
        "",
    ]
    head = "| workload |"
    rule = "|---|"
    for p in products:
        short = {NODE: "node", IDGATE: "idgate", IDGATE_W2: "idgate ×2"}[p]
        head += f" {short} rate | {short} p50 / p99 ms |"
        rule += "---:|---:|"
    if NODE in products and IDGATE in products:
        head += " idgate / node |"
        rule += "---:|"
    lines += [head, rule]
    for w in workloads:
        row = f"| {w.key} {w.title} ({w.unit}) |"
        if not any((p, w.key) in by for p in products):
            reasons = {s.reason for s in skipped if s.workload == w.key}
            lines.append(f"| {w.key} {w.title} | skipped: {'; '.join(sorted(reasons))} |")
            continue
        for p in products:
            s = by.get((p, w.key))
            if s is None:
                row += " – | – |"
                continue
            warn = f" ⚠ {s.errors} errors" if s.errors else ""
            row += f" {_fmt_rate(s.rate)}{warn} | {s.p50_ms:.1f} / {s.p99_ms:.1f} |"
        if NODE in products and IDGATE in products:
            a, b = by.get((IDGATE, w.key)), by.get((NODE, w.key))
            row += f" **{a.rate / b.rate:.2f}** |" if a and b and b.rate else " – |"
        lines.append(row)
    lines += [
        "",
        "Resources (medians per run; CPU is the server's process tree over the measured "
        "seconds, µs per request or per flow; RSS is the tree's peak VmHWM over the whole run; "
        "wrk % is the load generator's CPU use of its one core):",
        "",
    ]
    head, rule = "| workload |", "|---|"
    for p in products:
        short = {NODE: "node", IDGATE: "idgate", IDGATE_W2: "idgate ×2"}[p]
        head += f" {short} CPU µs | {short} RSS MiB | {short} wrk % |"
        rule += "---:|---:|---:|"
    lines += [head, rule]
    for w in workloads:
        if not any((p, w.key) in by for p in products):
            continue
        row = f"| {w.key} |"
        for p in products:
            s = by.get((p, w.key))
            row += (
                " – | – | – |"
                if s is None
                else f" {s.cpu_us_per_unit:,.0f} | {s.peak_rss_mib:,.0f} | {s.wrk_cpu_pct:.0f} |"
            )
        lines.append(row)
    errors = sum(s.errors for s in summaries)
    lines += [
        "",
        "Errors: none." if errors == 0 else f"**Errors: {errors} — this run is flagged.**",
    ]
    return "\n".join(lines) + "\n"


def write_json(path: Path, payload: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n")


def write_docs(doc: Path, table: str, results_name: str) -> None:
    """Replace the generated part of docs/benchmark.md (between the markers), keeping the rest."""
    block = (
        f"{_START}\n{table}\nRaw results: `bench/results/{results_name}` (not committed).\n{_END}"
    )
    text = doc.read_text() if doc.exists() else ""
    if _START in text and _END in text:
        before, rest = text.split(_START, 1)
        after = rest.split(_END, 1)[1]
        text = before + block + after
    else:
        text = (text.rstrip() + "\n\n" if text else "# Benchmark\n\n") + block + "\n"
    doc.write_text(text)
