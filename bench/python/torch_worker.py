"""PyTorch side of `npm run bench -- compute` (bench/compute.ts drives it).

A long-lived child process: one JSON request per line on stdin, one JSON answer per line on
stdout. Long-lived so that the bench can alternate fedsim and PyTorch cases in one run
without paying Python's start-up and `import torch` (about 2 s) per case, and so that both
sides run warm (see the fairness note in BENCHMARKS.md, "Training speed").

Everything timed here is timed here (time.perf_counter around the training loop only),
exactly as the TypeScript side times `trainLocal` alone: the JSON traffic is never timed.

Requests ({"op": ...}):
  hello                        versions, threads, and which BLAS library the process mapped
  peak   {size, repeats}       fp32 GFLOP/s of numpy's matmul on a size×size square (best of repeats)
  model  {spec, params}        build the fedsim built-in `spec` as a torch model and load `params`
                               (already in PyTorch layout: [{shape, data: base64 float32}])
  data   {x, y, n, shape}      the data set: x base64 float32 in the model's input layout
                               (NCHW for a cnn), y base64 int32 labels
  steps  {lr, batch, steps}    `steps` SGD steps on consecutive batches (rows 0..B-1, B..2B-1, …,
                               no shuffle); the loss of each step (before its update) and the
                               final parameters
  train  {lr, batch, epochs, n, seed}  one timed local training run over the first n samples, as a user
                               writes it: torch.randperm per epoch, index the batch, forward,
                               cross_entropy, backward, SGD step, loss.item()
"""

import base64
import json
import os
import platform
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

# One thread, like fedsim's single-threaded wasm: the comparison is per core. The bench also
# sets OMP_NUM_THREADS / OPENBLAS_NUM_THREADS in this process's environment, because
# torch.set_num_threads does not reach an OpenBLAS built with pthreads.
torch.set_num_threads(1)
torch.set_num_interop_threads(1)


def f32(b64):
    return np.frombuffer(base64.b64decode(b64), dtype="<f4")


def b64(array):
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f4").tobytes()).decode("ascii")


def mapped_blas():
    """The BLAS/LAPACK shared libraries this process has mapped (resolved paths), from /proc/self/maps."""
    libs = set()
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                name = os.path.basename(path).lower()
                if any(k in name for k in ("blas", "lapack", "mkl", "blis", "dnnl")):
                    libs.add(os.path.realpath(path))
    except OSError:
        pass
    return sorted(libs)


def blas_kind(libs):
    joined = " ".join(libs).lower()
    if "openblas" in joined:
        return "OpenBLAS"
    if "mkl" in joined:
        return "MKL"
    if "blis" in joined:
        return "BLIS"
    if any(os.path.basename(p).startswith("libblas.so") for p in libs):
        # Debian's libblas3: the unoptimised Fortran reference implementation.
        return "reference BLAS (libblas3)"
    return "unknown"


def build_model(spec):
    """The fedsim built-in model `spec` (src/fl/models/builtin-model.ts) as torch modules, same order of parameters."""
    kind = spec["kind"]
    if kind == "mlp":
        widths = spec["layers"]
        layers = []
        for i in range(len(widths) - 1):
            layers.append(torch.nn.Linear(widths[i], widths[i + 1]))
            if i + 2 < len(widths):
                layers.append(torch.nn.ReLU())
        return torch.nn.Sequential(*layers)
    if kind == "cnn":
        h, w, c = spec["inputShape"]
        f1, f2 = spec["filters"]
        k = spec["kernelSize"]
        if k % 2 != 1:
            raise ValueError(f"cnn kernelSize {k}: tfjs pads an even kernel asymmetrically under 'same', which torch's padding cannot express; use an odd size")
        flat = (h // 2 // 2) * (w // 2 // 2) * f2
        return torch.nn.Sequential(
            torch.nn.Conv2d(c, f1, k, padding=k // 2),  # 'same' for an odd kernel, stride 1
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(f1, f2, k, padding=k // 2),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Flatten(),
            torch.nn.Linear(flat, spec["hidden"]),
            torch.nn.ReLU(),
            torch.nn.Linear(spec["hidden"], spec["classes"]),
        )
    raise ValueError(f"model kind {kind!r}: the bench compares fedsim's mlp and cnn only")


class Worker:
    def __init__(self):
        self.model = None
        self.initial = None
        self.input_shape = None
        self.x = None
        self.y = None

    def hello(self, _req):
        libs = mapped_blas()
        return {
            "python": platform.python_version(),
            "executable": sys.executable,
            "torch": torch.__version__,
            "numpy": np.__version__,
            "threads": torch.get_num_threads(),
            "mkldnn": bool(torch.backends.mkldnn.is_available()),
            "blas": blas_kind(libs),
            "blasLibraries": libs,
        }

    def peak(self, req):
        n = int(req.get("size", 2048))
        repeats = int(req.get("repeats", 5))
        rng = np.random.default_rng(0)
        a = rng.random((n, n), dtype=np.float32)
        b = rng.random((n, n), dtype=np.float32)
        a @ b  # warm-up: BLAS buffers, page faults
        best = 0.0
        rates = []
        for _ in range(repeats):
            start = time.perf_counter()
            a @ b
            seconds = time.perf_counter() - start
            rates.append(2 * n**3 / seconds / 1e9)
            best = max(best, rates[-1])
        return {"gflops": best, "all": rates, "size": n, "blas": blas_kind(mapped_blas())}

    def load_model(self, req):
        self.model = build_model(req["spec"])
        params = list(self.model.parameters())
        given = req["params"]
        if len(given) != len(params):
            raise ValueError(f"{len(given)} parameter arrays for a torch model with {len(params)}")
        self.initial = []
        with torch.no_grad():
            for i, (p, g) in enumerate(zip(params, given)):
                if list(p.shape) != list(g["shape"]):
                    raise ValueError(f"parameter {i}: torch shape {list(p.shape)}, given {g['shape']}")
                p.copy_(torch.from_numpy(f32(g["data"]).copy()).reshape(p.shape))
                self.initial.append(p.detach().clone())
        self.input_shape = req["inputShape"]
        return {"parameters": sum(p.numel() for p in params)}

    def reset(self):
        with torch.no_grad():
            for p, v in zip(self.model.parameters(), self.initial):
                p.copy_(v)

    def data(self, req):
        n = int(req["n"])
        self.x = torch.from_numpy(f32(req["x"]).copy()).reshape([n, *self.input_shape])
        self.y = torch.from_numpy(np.frombuffer(base64.b64decode(req["y"]), dtype="<i4").astype(np.int64))
        if self.y.shape[0] != n:
            raise ValueError(f"{self.y.shape[0]} labels for {n} samples")
        return {"n": n}

    def steps(self, req):
        """Fixed batches, no shuffle: the identical-maths check."""
        self.reset()
        batch, lr = int(req["batch"]), float(req["lr"])
        opt = torch.optim.SGD(self.model.parameters(), lr=lr)
        losses = []
        for s in range(int(req["steps"])):
            xb, yb = self.x[s * batch:(s + 1) * batch], self.y[s * batch:(s + 1) * batch]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(self.model(xb), yb)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        params = [{"shape": list(p.shape), "data": b64(p.detach().numpy())} for p in self.model.parameters()]
        return {"losses": losses, "params": params}

    def train(self, req):
        """One local training run from the initial weights, timed; what a PyTorch FL client does."""
        self.reset()
        batch, lr, epochs = int(req["batch"]), float(req["lr"]), int(req.get("epochs", 1))
        generator = torch.Generator().manual_seed(int(req.get("seed", 0)))
        n = int(req.get("n", self.x.shape[0]))
        if not 0 < n <= self.x.shape[0]:
            raise ValueError(f"n = {n}: the data set has {self.x.shape[0]} samples")
        model, x, y = self.model, self.x[:n], self.y[:n]
        start = time.perf_counter()
        opt = torch.optim.SGD(model.parameters(), lr=lr)
        loss_sum, steps = 0.0, 0
        for _ in range(epochs):
            order = torch.randperm(n, generator=generator)
            for s in range(0, n, batch):
                idx = order[s:s + batch]
                xb, yb = x[idx], y[idx]
                opt.zero_grad(set_to_none=True)
                loss = F.cross_entropy(model(xb), yb)
                loss.backward()
                opt.step()
                loss_sum += loss.item() * len(idx)
                steps += 1
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "samples": n * epochs, "steps": steps, "meanLoss": loss_sum / (n * epochs)}


def main():
    worker = Worker()
    ops = {"hello": worker.hello, "peak": worker.peak, "model": worker.load_model, "data": worker.data, "steps": worker.steps, "train": worker.train}
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            op = ops.get(req.get("op"))
            if op is None:
                raise ValueError(f"unknown op {req.get('op')!r}; known: {', '.join(ops)}")
            answer = {"ok": True, **op(req)}
        except Exception as error:  # the bench shows the message and stops
            answer = {"ok": False, "error": f"{type(error).__name__}: {error}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
