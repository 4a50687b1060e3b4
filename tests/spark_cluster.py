"""A loopback standalone Spark cluster for the tests: one master, one worker, both on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LoopbackCluster:
    def __init__(self, work: Path, cores: int = 2, memory: str = "1g"):
        self.work = work
        self.cores, self.memory = cores, memory
        self.processes: list[subprocess.Popen] = []

    def _spawn(self, name: str, args: list[str]) -> None:
        from modelport.spark.session import spark_home

        env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_WORKER_DIR": str(self.work / "work"),
               "SPARK_LOG_DIR": str(self.work)}
        log = open(self.work / f"{name}.log", "w")  # noqa: SIM115  (closed with the process)
        cmd = [str(Path(spark_home()) / "bin" / "spark-class"), *args]
        self.processes.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env))

    def start(self, timeout: float = 120) -> str:
        port, ui = free_port(), free_port()
        url = f"spark://127.0.0.1:{port}"
        self._spawn("master", ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
                               "--webui-port", str(ui)])
        self._spawn("worker", ["org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1",
                               "--cores", str(self.cores), "--memory", self.memory, "--webui-port", str(free_port())])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{ui}/json/", timeout=2) as r:
                    if json.load(r).get("aliveworkers", 0) >= 1:
                        return url
            except OSError:
                pass
            for p in self.processes:
                if p.poll() is not None:
                    raise RuntimeError(f"spark-class exited {p.returncode}; see {self.work}")
            time.sleep(0.5)
        raise RuntimeError(f"the loopback Spark cluster did not start in {timeout} s; see {self.work}")

    def stop(self) -> None:
        for p in reversed(self.processes):  # worker first: it stops its executors
            p.terminate()
        for p in reversed(self.processes):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
