"""One benchmark run: start the servers, sign in once on each, then rounds of workloads with
the products alternating, each measured with wrk and /proc."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from oidcbench import flows
from oidcbench.servers import Server, start_idgate, start_node
from oidcbench.workloads import Skip, Target, Workload
from oidcbench.wrk import run_wrk

NODE = "node-oidc-provider"
IDGATE = "idgate"
IDGATE_W2 = "idgate --workers 2"


@dataclass(frozen=True)
class Plan:
    rounds: int
    duration_s: float
    warmup_s: float
    connections: int
    workloads: tuple[Workload, ...]
    with_node: bool
    with_workers2: bool
    postgres_admin_url: str | None
    run_dir: Path
    wrk: str


@dataclass(frozen=True)
class Measurement:
    product: str
    workload: str
    round: int
    requests: int
    completed: int
    duration_s: float
    rps: float
    completed_ps: float
    p50_ms: float
    p99_ms: float
    socket_errors: int
    status_errors: int
    bad: int
    server_cpu_s: float
    server_peak_rss_mib: float
    server_processes: int
    wrk_cpu_s: float

    @property
    def errors(self) -> int:
        return self.socket_errors + self.status_errors + self.bad

    def to_json(self) -> dict[str, object]:
        return {**asdict(self), "errors": self.errors}


@dataclass(frozen=True)
class Skipped:
    product: str
    workload: str
    reason: str


def _cores() -> tuple[str | None, str | None]:
    """(server, load generator): one core each where there are two, else no pinning."""
    if (os.cpu_count() or 1) >= 2 and hasattr(os, "sched_setaffinity"):
        return "0", "1"
    return None, None


@contextmanager
def _database(plan: Plan, name: str) -> Iterator[str]:
    """A fresh database for one idgate server: a SQLite file, or a PostgreSQL database that
    is dropped afterwards."""
    if plan.postgres_admin_url is None:
        yield f"sqlite:///{plan.run_dir / f'{name}.db'}"
        return
    import asyncpg

    db = f"idgate_bench_{os.getpid()}_{name.replace('-', '_')}"
    admin = plan.postgres_admin_url

    async def execute(sql: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(execute(f'DROP DATABASE IF EXISTS "{db}"'))
    asyncio.run(execute(f'CREATE DATABASE "{db}"'))
    base = admin.rsplit("/", 1)[0]
    try:
        yield f"{base}/{db}"
    finally:
        asyncio.run(execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))


def _target(label: str, server: Server, password: str, plan: Plan) -> Target:
    endpoints = flows.Endpoints.discover(server.base_url)
    cookie = flows.login(server, endpoints, password)
    return Target(label, server, endpoints, cookie, plan.run_dir, plan.connections, plan.duration_s)


def _measure(
    target: Target,
    workload: Workload,
    round_: int,
    plan: Plan,
    load_cores: str | None,
    duration_s: float,
) -> Measurement:
    target.duration_s = duration_s
    for _ in range(3):
        job = workload.prepare(target)
        time.sleep(0.5)  # let the preparation's traffic drain
        before = target.server.sample()
        result = run_wrk(
            plan.wrk,
            target.server.base_url,
            job,
            duration_s=duration_s,
            connections=plan.connections,
            cores=load_cores,
            log=plan.run_dir / "wrk.log",
        )
        after = target.server.sample()
        if not result.ran_out:
            break
        # wrk's clock runs on after a thread stops, so a cut-short rate is wrong: again,
        # with four times the codes.
        target.codes_factor *= 4
        print(
            f"bench: {workload.key} {target.label}: the codes ran out; again with more", flush=True
        )
    else:
        raise RuntimeError(f"{workload.key} {target.label}: the prepared codes kept running out")
    if workload.key == "W3":
        target.authorize_rate = result.rps
    return Measurement(
        product=target.label,
        workload=workload.key,
        round=round_,
        requests=result.requests,
        completed=result.completed,
        duration_s=round(result.duration_s, 3),
        rps=round(result.rps, 1),
        completed_ps=round(result.completed_ps, 1),
        p50_ms=result.p50_ms,
        p99_ms=result.p99_ms,
        socket_errors=result.socket_errors,
        status_errors=result.status_errors,
        bad=result.bad,
        server_cpu_s=round(after.cpu_seconds - before.cpu_seconds, 2),
        server_peak_rss_mib=round(after.peak_rss_kib / 1024, 1),
        server_processes=after.processes,
        wrk_cpu_s=round(result.wrk_cpu_s, 2),
    )


def execute(plan: Plan) -> tuple[list[Measurement], list[Skipped], dict[str, str]]:
    """Run the plan; returns the measurements, the skipped workloads, and notes."""
    server_cores, load_cores = _cores()
    password = secrets.token_urlsafe(18)
    measurements: list[Measurement] = []
    skipped: list[Skipped] = []
    notes: dict[str, str] = {
        "server_cores": server_cores or "all",
        "load_cores": load_cores or "all",
    }
    with ExitStack() as stack:
        targets: list[Target] = []
        if plan.with_node:
            node = start_node(name="node", log_dir=plan.run_dir, cores=server_cores)
            stack.callback(node.stop)
            targets.append(_target(NODE, node, password, plan))
        url = stack.enter_context(_database(plan, "idgate"))
        idgate = start_idgate(
            name="idgate",
            database_url=url,
            log_dir=plan.run_dir,
            cores=server_cores,
            password=password,
        )
        stack.callback(idgate.stop)
        reference = _target(IDGATE, idgate, password, plan)
        targets.append(reference)
        if plan.with_workers2:
            url2 = stack.enter_context(_database(plan, "idgate-w2"))
            w2 = start_idgate(
                name="idgate-w2",
                database_url=url2,
                log_dir=plan.run_dir,
                cores=None,
                workers=2,
                password=password,
            )
            stack.callback(w2.stop)
            targets.append(_target(IDGATE_W2, w2, password, plan))
        for t in targets:
            t.with_userinfo = reference.endpoints.userinfo is not None
            t.with_introspection = reference.endpoints.introspection is not None

        if plan.warmup_s > 0:
            # One unmeasured pass: Node's JIT and Python's caches warm up before round 1.
            print(f"bench: warm-up, {plan.warmup_s:g} s per workload and product", flush=True)
            for workload in plan.workloads:
                for target in targets:
                    with contextlib.suppress(Skip):
                        _measure(target, workload, 0, plan, load_cores, plan.warmup_s)

        for round_ in range(1, plan.rounds + 1):
            for workload in plan.workloads:
                # Alternate who goes first, workload by workload and round by round.
                shift = (round_ + plan.workloads.index(workload)) % len(targets)
                for target in targets[shift:] + targets[:shift]:
                    try:
                        m = _measure(target, workload, round_, plan, load_cores, plan.duration_s)
                    except Skip as why:
                        if round_ == 1:
                            skipped.append(Skipped(target.label, workload.key, str(why)))
                            print(
                                f"bench: {workload.key} {target.label}: skipped ({why})", flush=True
                            )
                        continue
                    measurements.append(m)
                    flag = f"  ERRORS {m.errors}" if m.errors else ""
                    rate = (
                        f"{m.completed_ps:,.0f} flows/s"
                        if workload.unit == "flows/s"
                        else f"{m.rps:,.0f} req/s"
                    )
                    print(
                        f"bench: round {round_} {workload.key} {target.label:<20} {rate:>16}"
                        f"  p50 {m.p50_ms:.1f} ms  p99 {m.p99_ms:.1f} ms"
                        f"  cpu {m.server_cpu_s:.1f} s{flag}",
                        flush=True,
                    )
    return measurements, skipped, notes
