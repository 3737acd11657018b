#!/usr/bin/env python3
"""Optional: regenerate optimizer trajectories with PyTorch.

optimizer_test.cpp checks cumlp's optimizers against a re-implementation of
PyTorch's documented algorithms written in the test itself. This script runs
the real torch.optim on the same kind of problem, so a developer who has
PyTorch can confirm the documented algorithm and the test's re-implementation
agree with torch (this machine has no torch; ctest does not run this script).

It prints, for each configuration, the parameters after every step of a
fixed trajectory: 9 parameters p0[i] = 0.1 * (i - 4) (p0[4] = 0), gradients
g_t[i] = sin(1.3 * i + 0.7 * t), t = 1..5, in float64. Feed the same values to
cumlp::cpu::optimizer_step_cpu<double> (or reference_step in the test) and
compare to 1e-12 relative.

L1 is cumlp's own penalty (g += l1 * sign(p)); torch has no such option, so
it is added to the gradient by hand here, exactly as the library documents.

Usage: python3 tests/cpu/optimizer_reference.py
"""
import math
import sys

try:
    import torch
except ImportError:
    print("optimizer_reference.py: PyTorch is not installed; nothing to do (optional check)", file=sys.stderr)
    sys.exit(0)

CONFIGS = [
    ("sgd", torch.optim.SGD, dict(lr=0.1), 0.0),
    ("sgd+l2", torch.optim.SGD, dict(lr=0.1, weight_decay=0.05), 0.0),
    ("sgd+l1", torch.optim.SGD, dict(lr=0.1), 0.02),
    ("adam", torch.optim.Adam, dict(lr=0.01), 0.0),
    ("adam+l2", torch.optim.Adam, dict(lr=0.01, weight_decay=0.1), 0.0),
    ("adam+l1", torch.optim.Adam, dict(lr=0.01), 0.01),
    ("adam betas", torch.optim.Adam, dict(lr=0.05, betas=(0.5, 0.9), eps=1e-6), 0.0),
    ("adamw", torch.optim.AdamW, dict(lr=0.01, weight_decay=0.1), 0.0),
    ("sgd momentum", torch.optim.SGD, dict(lr=0.1, momentum=0.9), 0.0),
    ("sgd nesterov", torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True), 0.0),
    ("sgd momentum+l2", torch.optim.SGD, dict(lr=0.1, momentum=0.9, weight_decay=0.05), 0.0),
    ("sgd nesterov+l1", torch.optim.SGD, dict(lr=0.1, momentum=0.8, nesterov=True), 0.02),
]


def main():
    for name, cls, kwargs, l1 in CONFIGS:
        p = torch.tensor([0.1 * (i - 4) for i in range(9)], dtype=torch.float64, requires_grad=True)
        opt = cls([p], **kwargs)
        print(name)
        for t in range(1, 6):
            g = torch.tensor([math.sin(1.3 * i + 0.7 * t) for i in range(9)], dtype=torch.float64)
            with torch.no_grad():
                g = g + l1 * torch.sign(p)
            p.grad = g
            opt.step()
            print(f"  step {t}: " + " ".join(f"{v:.17g}" for v in p.detach().tolist()))


if __name__ == "__main__":
    main()
