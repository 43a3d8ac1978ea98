"""The backend image's site hook (/app/sitecustomize.py; /app is on PYTHONPATH), which Python
imports on every start: the container's first process prints the user it runs as as its first
line, `uid=<real> euid=<effective>`, whatever command the pod gives it (serve, migrate, the
chart's wait-for-database and test pods). So the UID a container really ran with can be read
from its log even after it ended (the e2e suite's non-root check). Any other process (kubectl
exec, the preStop hook, the tests) prints nothing."""

import os

if os.getpid() == 1:
    print(f"uid={os.getuid()} euid={os.geteuid()}", flush=True)
