"""The design's load-test plan against a deployed stack: profiles, faults, sampling, report.

`npm run loadtest -- --stack dev --profile smoke` (see loadtest/README.md). The driver is
`cli.py`, which wires one step after another: `arguments.py`, `discovery.py` (the target),
`running.py` (with `fault_runs.py` and `read_back.py`) and `summary.py` (the report); Locust
runs `users.py` in a subprocess; the pure parts (profiles, analysis, journal, target, nextjs)
hold no I/O so that the tests can pin them.
"""
