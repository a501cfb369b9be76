"""Images per second of the reference implementation (NVlabs/edm) on the
configuration edm benchmarks, for bench/side_by_side.sh.

  python3 bench/reference_throughput.py EDM_REF CONFIG.json fwd|train BATCH SECONDS THREADS

EDM_REF is a checkout of NVlabs/edm; CONFIG.json an edm.config as
network_throughput --write-configs writes it. A training step is the
reference's: EDMLoss, backward, non-finite gradients replaced, Adam, EMA.
Prints one line: "img/s <number>".
"""
import copy
import json
import sys
import time


def build(config):
    from training.networks import EDMPrecond
    model = dict(config["model"], augment_dim=config.get("augment_dim", 0))
    return EDMPrecond(img_resolution=config["img_resolution"], img_channels=config["img_channels"],
                      label_dim=config.get("label_dim", 0), **model)


def timed(step, seconds):
    step()  # warm-up
    n, start = 0, time.perf_counter()
    while n < 3 or time.perf_counter() - start < seconds:
        step()
        n += 1
    return (time.perf_counter() - start) / n


def main():
    ref, config_path, mode, batch, seconds, threads = sys.argv[1:7]
    sys.path.insert(0, ref)
    import torch
    torch.set_num_threads(int(threads))
    batch, seconds = int(batch), float(seconds)
    config = json.load(open(config_path))
    net = build(config)
    res, ch, labels = config["img_resolution"], config["img_channels"], config.get("label_dim", 0)
    x = torch.rand(batch, ch, res, res) * 2 - 1
    y = torch.eye(labels)[torch.randint(labels, (batch,))] if labels else None
    if mode == "fwd":
        net.eval()
        sigma = (torch.randn(batch) * 1.2 - 1.2).exp()

        def step():
            with torch.no_grad():
                net(x, sigma, y)
    else:
        from training.loss import EDMLoss
        loss_fn, opt = EDMLoss(), torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
        ema = copy.deepcopy(net).eval().requires_grad_(False)
        net.train()

        def step():
            opt.zero_grad(set_to_none=True)
            loss_fn(net=net, images=x, labels=y).sum().mul(1 / batch).backward()
            for p in net.parameters():
                if p.grad is not None:
                    torch.nan_to_num(p.grad, nan=0, posinf=1e5, neginf=-1e5, out=p.grad)
            opt.step()
            with torch.no_grad():
                for p_ema, p_net in zip(ema.parameters(), net.parameters()):
                    p_ema.copy_(p_net.detach().lerp(p_ema, 0.999))
    print("img/s %.3f" % (batch / timed(step, seconds)))


if __name__ == "__main__":
    main()
