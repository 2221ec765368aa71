"""The exact meta-gradient of the 3x3 neo-Hebbian family by PyTorch reverse-mode autograd through
learning: the PyTorch peer of issue 19.

    /usr/bin/python3 bench/peers/meta_gradient_torch.py DUMP RESULT.json

DUMP is written by `bench ... rnn-dump grad H DUMP` (the engine's initial weights, trial inputs,
initial states and kicks: N = 100, 200 Euler steps of 5 ms per DNMS trial, H learning trials). The
learner is rules/neo_hebbian.rule on models/rnn.model, as the engine runs it, at the dump's theta:

    r = tanh x;   x <- free * (x + dt/tau (-x + W r + W_in u + kick)) + clamp;   z = r_0
    E <- E + dt * sum_kl theta[k,l] outer((xbar - x)^l, r^k)      (from step 3 on)
    R = -mean over scored steps |z - target|;   W <- W + eta E (R - Rbar);   Rbar <- 0.75 Rbar + 0.25 R

and J = sum_h gamma^h R^h; J.backward() gives dJ/dtheta, in float64 on one thread. The trace update
is written as a careful PyTorch user writes it: the nine outer products as one product of the
N x 3 power matrices, (A theta^T) B^T, so the graph keeps N x 3 factors per step rather than nine
N x N products (the one-matrix-per-term form keeps ~9 N x N tensors per step alive for the backward
pass). Only the forward and backward passes are timed. Writes RESULT.json: seconds, per-trial
rewards, J, the gradient (theta k-major), peak and setup RSS (MB)."""

import sys

import torch

import rnn_streams


def meta_gradient(settings, w0, w_in, trials):
    f64 = torch.float64
    n = settings["units"]
    dt = settings["dt"]
    hdt = dt / settings["tau"]
    ax, ar = settings["alpha_x"], settings["alpha_r"]
    eta, gamma = settings["eta"], settings["gamma"]
    carry, after = settings["carry_average"], settings["readout_after"]
    trace_from, learn_after, out = settings["trace_from_step"], settings["learn_after"], settings["output_unit"]
    free_np, clamp_np = rnn_streams.clamp_vectors(settings)
    free, clamp = torch.from_numpy(free_np), torch.from_numpy(clamp_np)
    theta = torch.tensor(settings["theta"], dtype=f64).reshape(3, 3).requires_grad_(True)
    w = torch.from_numpy(w0)
    w_in = torch.from_numpy(w_in)
    ones = torch.ones(n, dtype=f64)
    xbar = torch.zeros(n, dtype=f64)
    rbar = [torch.zeros((), dtype=f64) for _ in range(settings["conditions"])]
    objective = torch.zeros((), dtype=f64)
    weight = 1.0
    rewards = []
    for h, trial in enumerate(trials):
        x = free * torch.from_numpy(trial.x0) + clamp
        if not carry:
            xbar = x
        e = torch.zeros(n, n, dtype=f64)
        drive = torch.from_numpy(trial.inputs) @ w_in.T + torch.from_numpy(trial.kick_matrix(n))
        racc = torch.zeros((), dtype=f64)
        scored = 0.0
        for t in range(trial.target.size):
            r = torch.tanh(x)
            if not after:
                racc = racc - trial.mask[t] * torch.abs(r[out] - trial.target[t])
            x_new = free * (x + hdt * (-x + w @ r + drive[t])) + clamp
            xbar_new = xbar if (carry and t == 0) else ax * xbar + (1 - ax) * x
            x = x_new
            if t >= trace_from:
                d = xbar_new - x
                a = torch.stack((ones, d, d * d), 1)            # (xbar - x)^l, l = 0..2
                b = torch.stack((ones, r, r * r), 1)            # r^k, k = 0..2
                e = e + dt * ((a @ theta.T) @ b.T)              # sum_kl theta[k,l] outer(a_l, b_k)
            xbar = xbar_new
            if after:
                racc = racc - trial.mask[t] * torch.abs(torch.tanh(x[out]) - trial.target[t])
            scored += trial.mask[t]
        if carry:
            xbar = ax * xbar + (1 - ax) * x
        if not bool(torch.isfinite(x).all()):
            raise FloatingPointError(f"the network state became non-finite in learning trial {h + 1}")
        reward = racc / max(scored, 1.0)
        c = trial.condition
        if h >= learn_after:
            w = w + eta * e * (reward - rbar[c])
        rbar[c] = ar * rbar[c] + (1 - ar) * reward
        rewards.append(float(reward))
        objective = objective + weight * reward
        weight *= gamma
    objective.backward()
    return rewards, float(objective), theta.grad.reshape(-1).tolist()


def main(argv):
    torch.set_num_threads(1)

    def compute(settings, w0, w_in, trials):
        rewards, objective, grad = meta_gradient(settings, w0, w_in, trials)
        return {"peer": f"torch {torch.__version__}", "rewards": rewards, "J": objective, "grad": grad}

    return rnn_streams.run_peer(argv, "meta_gradient_torch.py", "neo_hebbian", "PyTorch", compute)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
