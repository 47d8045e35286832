"""``pantau check`` on a large config: seconds, against reading the same file with PyYAML.

    python benchmarks/config_load.py [HOSTS=100000]

Writes HOSTS hosts (each with a label) plus a router and notifiers, then times in this process:
the reference — ``yaml.load`` with libyaml's CSafeLoader, the fastest stock way to read it, which
pantau used to call (through ``safe_load``, without libyaml, and with the cyclic GC running) —
and pantau's ``load_config`` + summary (monitor/config/yaml_reader.py: events → values directly,
with the alias/depth/duplicate checks, then validation), and finally the whole ``python -m monitor
check`` process, wall and CPU seconds (on a shared machine the wall time grows with the load
average; the CPU time does not). The goal (issue 9) is under 3 s for 100,000 hosts; the ratio
shows how much of that is the YAML parser itself on this machine.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def write(path: Path, n: int) -> None:
    lines = ["plugins_dir: null", f"state: {{path: {path.parent / 'state.db'}}}",
             "routers:", "  - {name: core, address: 127.0.0.1, username: api, password: x1234}",
             "notifiers:", "  - {name: screen, type: console}", "hosts:"]
    lines += [f"  - {{name: host-{i:06d}, address: 10.{i >> 16}.{(i >> 8) & 255}.{i & 255}, labels: {{site: s{i % 50}}}}}"
              for i in range(n)]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    from monitor.cli.summary import summarize_config
    from monitor.config.model import load_config

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "monitor.yaml"
        write(path, n)
        text = path.read_text()
        started = time.perf_counter()
        yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        reference = time.perf_counter() - started
        started = time.perf_counter()
        summarize_config(load_config(path))
        ours = time.perf_counter() - started
        started = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.run([sys.executable, "-m", "monitor", "check", "-c", str(path)], cwd=ROOT,
                              capture_output=True, text=True)
        process = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        assert proc.returncode == 0, proc.stderr
    print(f"{n} hosts, {len(text) / 1e6:.1f} MB")
    print(f"reference  yaml.load(CSafeLoader) only: {reference:6.2f} s")
    print(f"pantau     load_config + summary:       {ours:6.2f} s  (ratio {ours / reference:.2f})")
    print(f"pantau     `python -m monitor check`:   {process:6.2f} s  (goal < 3 s), CPU {cpu:.2f} s, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
