"""Is one Python process per case as fair as a long-lived one? (BENCHMARKS.md, "Training speed".)

Trains the 2NN or McMahan's CNN with PyTorch on one thread, `reps` times in this process,
timing only the training loop (not `import torch`), and prints each run's samples/s. Run it
once with reps=6 (a long-lived process: the first run is cold, the rest warm) and several
times with reps=1 (a fresh process per case, always cold):

  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python3 bench/python/cold_start.py cnn 10 6
  for i in 1 2 3 4 5; do OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python3 bench/python/cold_start.py cnn 10 1; done
"""
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
kind, batch, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.manual_seed(0)
if kind == "mlp":
    model = torch.nn.Sequential(torch.nn.Linear(784, 200), torch.nn.ReLU(), torch.nn.Linear(200, 200), torch.nn.ReLU(), torch.nn.Linear(200, 10))
    x, n = torch.rand(600, 784), 600
elif kind == "cnn":
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(3136, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10),
    )
    x, n = torch.rand(600, 1, 28, 28), 200
else:
    sys.exit(f"cold_start.py: model {kind!r}: use mlp or cnn")
y = torch.randint(0, 10, (600,))
initial = [p.detach().clone() for p in model.parameters()]
rates = []
for r in range(reps):
    with torch.no_grad():
        for p, v in zip(model.parameters(), initial):
            p.copy_(v)
    start = time.perf_counter()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(r))
    for s in range(0, n, batch):
        idx = order[s:s + batch]
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
        loss.item()
    rates.append(n / (time.perf_counter() - start))
print(" ".join(f"{r:.0f}" for r in rates))
