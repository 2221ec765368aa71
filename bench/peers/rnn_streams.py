"""Reads the random streams of one recurrent learning run as the bench writes them
(`dotnet run -c Release --project bench/RuleDsl.Bench -- rnn-dump miconi|grad H FILE`,
bench/RuleDsl.Bench/StreamDump.cs): one line of JSON with the settings, then little-endian float64
values: W (N x N, post x pre), W_in (N x K), and per trial: condition, T, x0 (N), inputs (T x K),
target (T), mask (T), the number M of kicks, then M triples (step, unit, amplitude).

The peers consume exactly the numbers the engine draws, so their results can be compared with the
engine's to rounding."""

import json
import math
import time
import sys
import os
import resource

import numpy as np


class Trial:
    __slots__ = ("condition", "x0", "inputs", "target", "mask", "kicks")

    def __init__(self, condition, x0, inputs, target, mask, kicks):
        self.condition = condition
        self.x0 = x0
        self.inputs = inputs      # T x K
        self.target = target      # T
        self.mask = mask          # T, 1.0 where the step is scored
        self.kicks = kicks        # M x 3: (step, unit, amplitude) of each kick

    def kick_matrix(self, n):
        """T x N: the kick added to each unit's input at each step (mostly 0), built when the trial runs."""
        k = np.zeros((self.target.size, n))
        k[self.kicks[:, 0].astype(int), self.kicks[:, 1].astype(int)] = self.kicks[:, 2]
        return k


def read(path):
    """(settings dict, W, W_in, [Trial]) of a dump."""
    with open(path, "rb") as f:
        settings = json.loads(f.readline().decode("utf-8"))
        if settings.get("format") != "ruledsl-rnn-streams 1":
            raise ValueError(f"{path}: not a RuleDsl stream dump (format {settings.get('format')!r})")
        data = np.frombuffer(f.read(), dtype="<f8")
    n, k, h = settings["units"], settings["inputs"], settings["trials"]
    pos = 0

    def take(count):
        nonlocal pos
        if pos + count > data.size:
            raise ValueError(f"{path}: the dump ends early (truncated?)")
        out = data[pos:pos + count]
        pos += count
        return out

    w = take(n * n).reshape(n, n).copy()
    w_in = take(n * k).reshape(n, k).copy()
    trials = []
    for _ in range(h):
        condition = int(take(1)[0])
        steps = int(take(1)[0])
        x0 = take(n).copy()
        inputs = take(steps * k).reshape(steps, k).copy()
        target = take(steps).copy()
        mask = take(steps).copy()
        m = int(take(1)[0])
        kicks = take(3 * m).reshape(m, 3).copy()
        trials.append(Trial(condition, x0, inputs, target, mask, kicks))
    if pos != data.size:
        raise ValueError(f"{path}: {data.size - pos} values left over after {h} trials")
    return settings, w, w_in, trials


def clamp_vectors(settings):
    """free (1 for a free unit, 0 for a clamped one) and clamp (the clamped value, else 0), as the
    model's `free * (...) + clamp`."""
    n = settings["units"]
    free = np.ones(n)
    clamp = np.zeros(n)
    for unit, value in settings["clamped"]:
        free[int(unit)] = 0.0
        clamp[int(unit)] = value
    return free, clamp


def rss_mb():
    """This process's resident set now (VmRSS) in MB (10^6 bytes, as the bench reports the engine's)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024 / 1e6
    return 0.0


def peak_rss_mb():
    """This process's peak resident set (ru_maxrss, in KiB on Linux) in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6


def write_result(path, result):
    """The peer's result as JSON (floats in round-trip form), written atomically."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f)
    os.replace(tmp, path)


def run_peer(argv, script, rule, peer, compute):
    """The command line every peer shares: read DUMP (of `rule`), time `compute(settings, w0, w_in,
    trials)` -> (fields of the result), write RESULT.json with the time and memory; exit 1 when the peer
    diverged (a FloatingPointError, or a non-finite number in its result), 2 on a wrong call or dump."""
    if len(argv) != 3:
        print(f"usage: {script} DUMP RESULT.json", file=sys.stderr)
        return 2
    settings, w0, w_in, trials = read(argv[1])
    if settings["rule"] != rule:
        print(f"{argv[1]}: a dump of rule {settings['rule']}, not {rule}", file=sys.stderr)
        return 2
    setup = rss_mb()
    start = time.perf_counter()
    try:
        fields = compute(settings, w0, w_in, trials)
    except FloatingPointError as e:
        print(f"{peer} peer diverged: {e}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - start
    numbers = [fields["J"], *fields["rewards"], *fields.get("grad", [])]
    if not all(math.isfinite(x) for x in numbers):
        print(f"{peer} peer diverged: a result is not finite", file=sys.stderr)
        return 1
    write_result(argv[2], {"seconds": seconds, **fields, "peak_rss_mb": peak_rss_mb(), "setup_rss_mb": setup})
    return 0
