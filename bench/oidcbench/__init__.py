"""idgate's side-by-side benchmark against node-oidc-provider (npm `oidc-provider`).

`bench/run` is the one command; `bench/smoke` the short error-only run CI uses. The harness
starts each server pinned to one core, drives wrk (Lua scripts in `bench/lua/`) from the other,
alternates the products workload by workload, and reports medians. See docs/benchmark.md.
"""
