"""Trains the reference implementation (NVlabs/edm: EDMPrecond, EDMLoss) on
Fashion-MNIST with edm's small-preset recipe, for bench/quality_per_minute.sh.

  python3 bench/reference_train.py EDM_REF CONFIG.json BUDGET OUT.pkl THREADS SEED

CONFIG.json is an edm.config (as network_throughput --write-configs writes
it). BUDGET is "10min" (wall clock) or "47.6kimg" (images). The recipe is the
one edm's fmnist presets default to: batch 64, Adam (0.9, 0.999, 1e-8), lr
1e-3 ramped over 2 kimg, non-finite gradients replaced as training_loop.py
does, EMA half-life 0.5 Mimg ramped by 0.05, no augmentation, a fresh random
order of the 60,000 training images each epoch. Writes {"ema": network},
which tools/convert_pickle.py turns into an edm model file, and prints one
line: "kimg <images/1000> seconds <wall> img/s <rate>".
"""
import copy
import gzip
import json
import pickle
import sys
import time

DATA = "/usr/share/datasets/fashion-mnist/"  # Debian's dataset-fashion-mnist


def load_fashion_mnist(torch):
    import numpy as np
    with gzip.open(DATA + "train-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read()[16:], np.uint8).reshape(-1, 1, 28, 28)
    with gzip.open(DATA + "train-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read()[8:], np.uint8).astype(np.int64)
    x = torch.tensor(images.astype(np.float32) / 127.5 - 1)
    return x, torch.nn.functional.one_hot(torch.tensor(labels), 10).float()


def parse_budget(text):
    for unit, scale in (("min", 60.0), ("kimg", 1000.0)):
        if text.endswith(unit):
            return unit, float(text[: -len(unit)]) * scale
    sys.exit(f"reference_train: budget '{text}' is neither Nmin nor Nkimg")


def main():
    ref, config_path, budget, out, threads, seed = sys.argv[1:7]
    sys.path.insert(0, ref)
    import torch
    from training.loss import EDMLoss
    from training.networks import EDMPrecond
    torch.set_num_threads(int(threads))
    torch.manual_seed(int(seed))
    unit, limit = parse_budget(budget)
    config = json.load(open(config_path))
    model = dict(config["model"], augment_dim=0)
    label_dim = config.get("label_dim", 0)
    net = EDMPrecond(img_resolution=28, img_channels=1, label_dim=label_dim, **model).train()
    ema = copy.deepcopy(net).eval().requires_grad_(False)
    x, y = load_fashion_mnist(torch)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    loss_fn, batch, nimg = EDMLoss(), 64, 0
    order, pos, start = torch.randperm(len(x)), 0, time.time()
    while (time.time() - start if unit == "min" else nimg) < limit:
        if pos + batch > len(x):
            order, pos = torch.randperm(len(x)), 0
        idx = order[pos:pos + batch]
        pos += batch
        opt.zero_grad(set_to_none=True)
        labels = y[idx] if label_dim else None
        loss_fn(net, x[idx], labels).sum().mul(1 / batch).backward()
        for g in opt.param_groups:
            g["lr"] = 1e-3 * min(nimg / 2000, 1)
        for p in net.parameters():
            if p.grad is not None:
                torch.nan_to_num(p.grad, nan=0, posinf=1e5, neginf=-1e5, out=p.grad)
        opt.step()
        # training_loop.py: the EMA's half-life ramps with the images seen before this step
        beta = 0.5 ** (batch / max(min(0.5e6, nimg * 0.05), 1e-8))
        with torch.no_grad():
            for pe, pn in zip(ema.parameters(), net.parameters()):
                pe.copy_(pn.detach().lerp(pe, beta))
        nimg += batch
    seconds = time.time() - start
    with open(out, "wb") as f:
        pickle.dump(dict(ema=ema), f)
    print(f"kimg {nimg / 1000:.1f} seconds {seconds:.0f} img/s {nimg / seconds:.1f}")


if __name__ == "__main__":
    main()
