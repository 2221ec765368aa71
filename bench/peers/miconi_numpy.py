"""Miconi's (2017) reward-modulated learner in plain numpy: the numpy peer of issue 19.

    /usr/bin/python3 bench/peers/miconi_numpy.py DUMP RESULT.json

DUMP is written by `bench ... rnn-dump miconi H DUMP` (the engine's initial weights, trial inputs,
initial states and kicks); the learner is the one rules/miconi.rule and
examples/miconi_dnms_paper.experiment run in the engine (src/RuleDsl.Runtime/Reference/MiconiLearner.cs
writes it in plain C#), with the conventions the dump's settings name (x-bar carried or reset, output
read before or after the Euler step). Per step:

    r = tanh x;   x <- free * (x + dt/tau (-x + W r + W_in u + kick)) + clamp
    E += outer((x - xbar)**3, r**3)     (from step 3 on; xbar before its update)
    xbar <- 0.05 xbar + 0.95 x

and at the trial's end R = -mean over scored steps of |z - target|,
W += clip(-eta Rbar (R - Rbar) E, +-3e-4) after the warm-up trials, Rbar <- 0.75 Rbar + 0.25 R per
condition. Written as a numpy user writes it: one matrix-vector product and one outer product per step
(E += np.outer(...)), whole-array operations, nothing hand-tuned. Only the learning loop is timed.
Writes RESULT.json: seconds, per-trial rewards, J, the final W, peak and setup RSS (MB)."""

import sys

import numpy as np

import rnn_streams


def learn(settings, w, w_in, trials):
    n = settings["units"]
    hdt = settings["dt"] / settings["tau"]
    ax, ar = settings["alpha_x"], settings["alpha_r"]
    eta, clip, gamma = settings["eta"], settings["clip"], settings["gamma"]
    carry, after = settings["carry_average"], settings["readout_after"]
    trace_from, learn_after, out = settings["trace_from_step"], settings["learn_after"], settings["output_unit"]
    free, clamp = rnn_streams.clamp_vectors(settings)
    xbar = np.zeros(n)
    rbar = np.zeros(settings["conditions"])
    e = np.zeros((n, n))
    rewards = []
    objective, weight = 0.0, 1.0
    for h, trial in enumerate(trials):
        x = free * trial.x0 + clamp
        if not carry:
            xbar = x.copy()
        e[:] = 0.0
        drive = trial.inputs @ w_in.T + trial.kick_matrix(n)     # W_in u + kick, every step at once
        racc, scored = 0.0, 0.0
        for t in range(trial.target.size):
            r = np.tanh(x)
            if not after:
                racc -= trial.mask[t] * abs(r[out] - trial.target[t])
            x_new = free * (x + hdt * (-x + w @ r + drive[t])) + clamp
            if not (carry and t == 0):                  # a carried xbar never averages a trial's initial state
                xbar_new = ax * xbar + (1 - ax) * x
            else:
                xbar_new = xbar
            x = x_new
            if t >= trace_from:
                d = x - xbar_new                        # (d_i r_j)^3 = d_i^3 r_j^3: one outer product
                e += np.outer(d * d * d, r * r * r)
            xbar = xbar_new
            if after:
                racc -= trial.mask[t] * abs(np.tanh(x[out]) - trial.target[t])
            scored += trial.mask[t]
        if carry:
            xbar = ax * xbar + (1 - ax) * x
        if not np.all(np.isfinite(x)):
            raise FloatingPointError(f"the network state became non-finite in learning trial {h + 1}")
        reward = racc / max(scored, 1.0)
        c = trial.condition
        if h >= learn_after:
            w += np.clip(-eta * rbar[c] * (reward - rbar[c]) * e, -clip, clip)
        rbar[c] = ar * rbar[c] + (1 - ar) * reward
        rewards.append(reward)
        objective += weight * reward
        weight *= gamma
    return rewards, objective, w


def main(argv):
    def compute(settings, w, w_in, trials):
        rewards, objective, w = learn(settings, w, w_in, trials)
        return {"peer": f"numpy {np.__version__}", "rewards": rewards, "J": objective, "w": w.ravel().tolist()}

    return rnn_streams.run_peer(argv, "miconi_numpy.py", "miconi", "numpy", compute)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
