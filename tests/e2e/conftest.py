"""End-to-end fixtures: the local stack exactly as `make run` starts it, as a child process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import boto3
import pytest
from warden import constants as c

from tests.conftest import ROOT, free_port
from tests.fakes.anthropic_server import FakeAnthropic

READY_LINE = "Warden local stack is running."


@dataclass
class RunningStack:
    process: subprocess.Popen[str]
    drainer: threading.Thread
    api_url: str
    aws_url: str
    api_key: str
    output: list[str]

    def client(self, service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.aws_url,
            region_name=c.LOCAL_REGION,
            aws_access_key_id="inspect",
            aws_secret_access_key="inspect",
        )


def _read_until_ready(stream: IO[str], output: list[str], deadline: float) -> None:
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            raise RuntimeError("the local stack exited before it was ready:\n" + "".join(output))
        output.append(line)
        if line.strip() == READY_LINE:
            # Read the rest of the banner (it ends with the Ctrl-C line).
            while "Ctrl-C" not in line:
                line = stream.readline()
                output.append(line)
            return
    raise TimeoutError("the local stack did not become ready:\n" + "".join(output))


def _drain(stream: IO[str], output: list[str]) -> None:
    for line in iter(stream.readline, ""):
        output.append(line)


def start_stack(extra_env: dict[str, str] | None = None) -> RunningStack:
    port, aws_port = free_port(), free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "WARDEN_", "ANTHROPIC_"))}
    env.update({c.ENV_LOCAL_PORT: str(port), c.ENV_LOCAL_AWS_PORT: str(aws_port), "PYTHONUNBUFFERED": "1"})
    env.update(extra_env or {})
    warden = Path(sys.executable).with_name("warden")
    process = subprocess.Popen(
        [str(warden), "local"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    assert process.stdout is not None
    try:
        _read_until_ready(process.stdout, output, time.monotonic() + 120)
    except BaseException:
        process.kill()
        process.wait(10)
        raise
    # Keep reading the child's output: a pipe nobody reads fills up and blocks the stack on its next write.
    drainer = threading.Thread(target=_drain, args=(process.stdout, output), daemon=True)
    drainer.start()
    return RunningStack(
        process=process,
        drainer=drainer,
        api_url=f"http://127.0.0.1:{port}",
        aws_url=f"http://127.0.0.1:{aws_port}",
        api_key=c.DEFAULT_LOCAL_API_KEY,
        output=output,
    )


def stop_stack(stack: RunningStack) -> int:
    if stack.process.poll() is None:
        stack.process.send_signal(signal.SIGINT)
        try:
            stack.process.wait(60)  # generous: a loaded 2-core CI machine is slow, and a hang still fails
        except subprocess.TimeoutExpired:
            stack.process.kill()
            stack.process.wait(10)
    stack.drainer.join(10)  # the output up to the process's exit
    return stack.process.returncode


@pytest.fixture(scope="module")
def standin_stack() -> Iterator[RunningStack]:
    """`make run` with no ANTHROPIC_API_KEY: the offline stand-in model, fast tier only."""
    stack = start_stack()
    yield stack
    stop_stack(stack)


@pytest.fixture(scope="module")
def claude_stack() -> Iterator[tuple[RunningStack, FakeAnthropic]]:
    """`make run` with ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL: the Claude path, moderator on."""
    with FakeAnthropic() as fake:
        stack = start_stack({"ANTHROPIC_API_KEY": fake.api_key, "ANTHROPIC_BASE_URL": fake.base_url})
        yield stack, fake
        stop_stack(stack)
