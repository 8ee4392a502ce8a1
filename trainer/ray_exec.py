"""Runs sabuild's remote tasks on a Ray cluster through Ray's core API.

Reads one JSON document on stdin: {address, options, runtime_env, tasks: [{argv, cwd}]}.
Submits each task as a Ray remote function with the resources in options, and prints one JSON
line per task as it ends: {"task": i, "ok": bool, "code": int, "log": str, "stops": [str]}, where
stops holds every line of the task's output that reports a stopped item (STOP_MARK, as
src/executors/job-command.ts writes them), wherever they fall in the output. SIGTERM or SIGINT
cancels the tasks still queued or running (ray.cancel), then exits.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import ray

LOG_TAIL = 40
STOP_MARK = "sabuild-exec-stopped "


@ray.remote
def run_task(argv, cwd):
    # Its own process group, and Python waiting in short steps: ray.cancel's KeyboardInterrupt
    # lands between two steps (not inside a blocking wait), and takes sabuild exec down with it.
    with tempfile.TemporaryFile(mode="w+") as out:
        proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            while proc.poll() is None:
                time.sleep(0.2)
        except BaseException:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait()
            raise
        out.seek(0)
        lines = out.read().splitlines()
        return proc.returncode, "\n".join(lines[-LOG_TAIL:]), [line for line in lines if STOP_MARK in line]


def submit(spec):
    options = {k: v for k, v in spec.get("options", {}).items() if v is not None}
    return [run_task.options(**options).remote(t["argv"], t["cwd"]) for t in spec["tasks"]]


def cancel_on_signal(refs):
    def cancel(signum, frame):
        # Not force: the task sees KeyboardInterrupt and stops its process group first.
        for ref in refs:
            ray.cancel(ref)
        ray.wait(refs, num_returns=len(refs), timeout=10)
        print(json.dumps({"cancelled": True}), flush=True)
        sys.exit(130)

    signal.signal(signal.SIGTERM, cancel)
    signal.signal(signal.SIGINT, cancel)


def report(refs):
    index = {ref: i for i, ref in enumerate(refs)}
    pending = list(refs)
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        ref = ready[0]
        try:
            code, log, stops = ray.get(ref)
            print(json.dumps({"task": index[ref], "ok": code == 0, "code": code, "log": log, "stops": stops}), flush=True)
        except Exception as e:  # a task lost with its worker or node, or cancelled
            print(json.dumps({"task": index[ref], "ok": False, "code": -1, "log": f"{type(e).__name__}: {e}"}), flush=True)


def main():
    spec = json.load(sys.stdin)
    ray.init(address=spec.get("address", "auto"), runtime_env=spec.get("runtime_env") or None, log_to_driver=False)
    print(json.dumps({"connected": True}), flush=True)
    refs = submit(spec)
    cancel_on_signal(refs)
    report(refs)


if __name__ == "__main__":
    main()
