"""A plain PyTorch FedAvg loop: what a user would write instead of running fedsim.

The work of scenarios/experiments/fashion-2nn-iid.yaml, round for round:
  - MNIST-format data (Fashion-MNIST), pixels scaled to [0, 1], 784 features;
  - K clients, IID: one seeded permutation of the training set cut into K parts whose sizes
    differ by at most one (fedsim's partitionIid);
  - McMahan's 2NN 784-200-200-10, initialised by fedsim's rule (He-uniform before a ReLU,
    Glorot-uniform for the output layer, zero biases);
  - each round: ceil(C·K) clients drawn uniformly without replacement; each loads the global
    weights and runs E epochs of minibatch SGD (batch B, lr, shuffled every epoch, the loss
    read every step as fedsim's trainLocal does); the server averages the weights by sample
    count, then evaluates the global model on the whole test set in batches of 1024 (fedsim's
    central evaluation: loss and accuracy after every round);
  - one thread (torch.set_num_threads(1)), like fedsim's single-threaded simulation.

The random draws (partition, selection, shuffles, init) are PyTorch's/numpy's own, so the
accuracy curve matches fedsim's in shape, not digit for digit.

  python3 bench/python/fedavg.py --data /usr/share/datasets/fashion-mnist --rounds 100

Prints one JSON object per round on stderr (progress) and a summary JSON line on stdout.
"""

import argparse
import gzip
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def find(directory, stem):
    for name in (f"{stem}.gz", stem):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            return path
    sys.exit(f"fedavg.py: {stem}(.gz) not found in {directory}; give --data an MNIST-format directory (apt-get install dataset-fashion-mnist)")


def load(directory, split):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(find(directory, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(find(directory, f"{prefix}-labels-idx1-ubyte"))
    x = torch.from_numpy(images.reshape(images.shape[0], -1).astype(np.float32) / 255.0)
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


def two_nn(layers, generator):
    modules = []
    for i in range(len(layers) - 1):
        linear = torch.nn.Linear(layers[i], layers[i + 1])
        hidden = i + 2 < len(layers)
        with torch.no_grad():
            fan_in, fan_out = layers[i], layers[i + 1]
            limit = math.sqrt(6 / fan_in) if hidden else math.sqrt(6 / (fan_in + fan_out))
            linear.weight.uniform_(-limit, limit, generator=generator)
            linear.bias.zero_()
        modules.append(linear)
        if hidden:
            modules.append(torch.nn.ReLU())
    return torch.nn.Sequential(*modules)


def evaluate(model, x, y, batch=1024):
    loss_sum, correct = 0.0, 0
    with torch.no_grad():
        for s in range(0, x.shape[0], batch):
            out = model(x[s:s + batch])
            loss_sum += F.cross_entropy(out, y[s:s + batch], reduction="sum").item()
            correct += (out.argmax(1) == y[s:s + batch]).sum().item()
    return loss_sum / x.shape[0], correct / x.shape[0]


def local_update(model, global_state, x, y, epochs, batch, lr, generator):
    model.load_state_dict(global_state)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    n = x.shape[0]
    loss_sum = 0.0
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        for s in range(0, n, batch):
            idx = order[s:s + batch]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(idx)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}, n, loss_sum / (n * epochs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--fraction", type=float, default=0.1)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--layers", default="784,200,200,10")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    started = time.perf_counter()
    x_train, y_train = load(args.data, "train")
    x_test, y_test = load(args.data, "test")
    rng = np.random.default_rng(args.seed)
    perm = rng.permutation(x_train.shape[0])
    base, extra = divmod(x_train.shape[0], args.clients)
    parts, start = [], 0
    for c in range(args.clients):
        size = base + (1 if c < extra else 0)
        idx = torch.from_numpy(np.sort(perm[start:start + size]))
        parts.append((x_train[idx].contiguous(), y_train[idx].contiguous()))
        start += size
    generator = torch.Generator().manual_seed(args.seed)
    model = two_nn([int(v) for v in args.layers.split(",")], generator)
    global_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    per_round = max(1, math.ceil(args.fraction * args.clients - 1e-9))
    setup_seconds = time.perf_counter() - started

    rounds = []
    for r in range(1, args.rounds + 1):
        t0 = time.perf_counter()
        chosen = sorted(rng.choice(args.clients, size=per_round, replace=False).tolist())
        updates = [local_update(model, global_state, *parts[c], args.epochs, args.batch, args.lr, generator) for c in chosen]
        total = sum(n for _, n, _ in updates)
        global_state = {k: sum(state[k] * (n / total) for state, n, _ in updates) for k in global_state}
        train_seconds = time.perf_counter() - t0
        model.load_state_dict(global_state)
        test_loss, test_accuracy = evaluate(model, x_test, y_test)
        seconds = time.perf_counter() - t0
        row = {"round": r, "seconds": seconds, "trainSeconds": train_seconds, "testAccuracy": test_accuracy, "testLoss": test_loss, "trainLoss": sum(l * n for _, n, l in updates) / total}
        rounds.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)

    print(json.dumps({
        "rounds": rounds,
        "setupSeconds": setup_seconds,
        "totalSeconds": time.perf_counter() - started,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "clientsPerRound": per_round,
        "samplesPerClient": [len(p[1]) for p in parts[:1]] + [len(p[1]) for p in parts[-1:]],
    }))


if __name__ == "__main__":
    main()
