"""Algorithm 1 of Shervani-Tabar & Rosenbaum (2023) in PyTorch: the baseline RuleDsl's meta benchmark
compares against (bench/README.md). float32, one thread, reverse-mode autograd through the unrolled
online inner loop; the paper's network 784-170-130-100-70-5 (softplus beta = 10 hidden units, softmax
output, cross-entropy), feedback alignment (fixed random B), the synthetic e_0 of section 4.2, and the
rules fa (F0), bio (F0, F2, F9) and pool (F0..F9) with the paper's starting theta. Random data of the
same shape as RuleDsl's benchmark (M classes, K training and Q query samples per class).

    python3 algorithm1.py --rule fa --k 50 --episodes 3
prints one line: median seconds per meta-episode, peak RSS in bytes (ru_maxrss); with --max-gb G the
address space is capped (the autograd graph grows with the number of inner steps) and a run that
needs more prints "out of memory ..." and exits with code 3.
"""
import argparse
import resource
import statistics
import time

import torch

BETA = 10.0
LAYERS = [784, 170, 130, 100, 70, 5]
RULES = {"fa": [0], "bio": [0, 2, 9], "pool": list(range(10))}


def xavier(rows, cols, gen):
    bound = (6.0 / (rows + cols)) ** 0.5
    return (torch.rand(rows, cols, generator=gen) * 2 - 1) * bound


def update(theta, terms, W, y_pre, y_post, e_pre, e_post):
    """ΔW = Σ_r θ_r F_r (section 4.2; W is post x pre) written as a careful PyTorch user would: the
    terms grouped by their right-hand vector into three outer products and a multiple of W, so the
    autograd graph holds a few matrices per layer and step, not one per term."""
    th = dict(zip(terms, theta))
    zero = torch.zeros(())
    t = lambda r: th.get(r, zero)
    left_y = -t(0) * e_post + t(9) * y_post          # F0, F9 (first part): outer(·, y_pre)
    left_e = -t(1) * y_post - t(2) * e_post - t(4)   # F1, F2, F4: outer(·, e_pre)
    if 5 in th:
        left_y = left_y - t(5) * y_post.sum() * e_post
    if 6 in th or 7 in th:
        s = y_post @ (W @ e_pre)
        left_e = left_e - t(6) * s * y_post
        left_y = left_y - t(7) * s * e_post
    if 8 in th:
        left_e = left_e - t(8) * (e_post @ (W @ y_pre)) * y_post
    dW = torch.outer(left_y, y_pre)
    if any(r in th for r in (1, 2, 4, 6, 8)):
        dW = dW + torch.outer(left_e, e_pre)
    if 3 in th:
        dW = dW - t(3) * W
    if 9 in th:
        dW = dW - t(9) * torch.outer(y_post, W.t() @ y_post)   # −(y yᵀ) W as a rank-one product
    return dW


def episode(theta, terms, train_x, train_y, query_x, query_y, gen):
    L = len(LAYERS) - 1
    W = [None] + [xavier(LAYERS[l], LAYERS[l - 1], gen) for l in range(1, L + 1)]
    B = [None] + [xavier(LAYERS[l - 1], LAYERS[l], gen) for l in range(1, L + 1)]
    needs_pre_error = any(r in (1, 2, 4, 6, 7, 8) for r in terms)
    for x, label in zip(train_x, train_y):
        y, z = [x], [None]
        for l in range(1, L + 1):
            z.append(W[l] @ y[l - 1])
            y.append(torch.softmax(z[l], 0) if l == L else torch.nn.functional.softplus(z[l], beta=BETA))
        e = [None] * (L + 1)
        target = torch.zeros(LAYERS[L]); target[label] = 1
        e[L] = y[L] - target
        for l in range(L, 1, -1):
            e[l - 1] = (B[l] @ e[l]) * torch.sigmoid(BETA * z[l - 1])
        if needs_pre_error:
            e[0] = (B[1] @ e[1]) * (1 - torch.exp(-BETA * y[0]))
        W = [None] + [W[l] + update(theta, terms, W[l], y[l - 1], y[l], e[l - 1], e[l]) for l in range(1, L + 1)]
    loss = 0
    for x, label in zip(query_x, query_y):
        h = x
        for l in range(1, L + 1):
            h = W[l] @ h
            if l < L: h = torch.nn.functional.softplus(h, beta=BETA)
        loss = loss - torch.log_softmax(h, 0)[label]
    return loss / len(query_x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rule", default="fa", choices=RULES)
    ap.add_argument("--k", type=int, default=50)
    ap.add_argument("--q", type=int, default=10)
    ap.add_argument("--m", type=int, default=5)
    ap.add_argument("--episodes", type=int, default=3)
    ap.add_argument("--max-gb", type=float, default=0, help="cap the address space (the graph grows with K); 0: no cap")
    args = ap.parse_args()
    if args.max_gb > 0:
        cap = int(args.max_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(1)
    terms = RULES[args.rule]
    theta = torch.tensor([1e-3 if r == 0 else 0.0 for r in terms], requires_grad=True)
    opt = torch.optim.Adam([theta], lr=1e-3)
    pool = torch.rand(args.m * 510, LAYERS[0], generator=gen)
    times = []
    for ep in range(args.episodes + 1):  # the first episode is a warm-up
        perm = torch.randperm(args.m * args.k, generator=gen)
        train_x = torch.cat([pool[c * 510:c * 510 + args.k] for c in range(args.m)])[perm]
        train_y = torch.arange(args.m).repeat_interleave(args.k)[perm].tolist()
        query_x = torch.cat([pool[c * 510 + args.k:c * 510 + args.k + args.q] for c in range(args.m)])
        query_y = torch.arange(args.m).repeat_interleave(args.q).tolist()
        t = time.perf_counter()
        opt.zero_grad()
        try:
            loss = episode(theta, terms, train_x, train_y, query_x, query_y, gen)
            loss.backward()
        except (MemoryError, RuntimeError) as e:
            print(f"out of memory under the {args.max_gb:g} GB cap: {str(e).splitlines()[0][:80]}")
            raise SystemExit(3)
        opt.step()
        if ep > 0:
            times.append(time.perf_counter() - t)
    print(f"{statistics.median(times):.4f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}")


if __name__ == "__main__":
    main()
