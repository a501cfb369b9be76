#!/usr/bin/env python3
"""Convert a network pickle of the reference EDM implementation (NVlabs/edm)
or of EDM2 (NVlabs/edm2) into an edm model file (safetensors with the
state_dict and an edm.config).

    PYTHONPATH=/path/to/NVlabs/edm python3 tools/convert_pickle.py \
        network-snapshot-XXXXXX.pkl model.safetensors
    PYTHONPATH=/path/to/NVlabs/edm2 python3 tools/convert_pickle.py \
        edm2-img512-s-2147483-0.130.pkl model.safetensors

Unpickling needs PyTorch and the reference repository (its dnnlib and
torch_utils packages) on PYTHONPATH; the edm program itself never needs Python.
The exponential moving average of the weights ("ema") is converted.
"""
import argparse
import json
import math
import pickle
import struct
import sys

import torch

# Constructor arguments that belong to the preconditioning; all others are the
# network's (edm.config "model").
PRECOND_KEYS = {"use_fp16", "beta_d", "beta_min", "M", "epsilon_t", "sigma_min", "sigma_max", "sigma_data", "C_1", "C_2"}
TOP_KEYS = {"img_resolution", "img_channels", "label_dim"}
DEFAULT_MODEL = {"EDMPrecond": "DhariwalUNet", "iDDPMPrecond": "DhariwalUNet", "VPPrecond": "SongUNet", "VEPrecond": "SongUNet"}
DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.int64: "I64"}


def plain(value):
    """JSON-safe copy of a constructor argument (numpy scalars, tuples, infinity)."""
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


# EDM2's Precond: every constructor argument but its own goes to the UNet
# (and on to its Blocks); defaults as in training/networks_edm2.py.
EDM2_PRECOND = {"img_resolution": None, "img_channels": None, "label_dim": None, "use_fp16": True,
                "sigma_data": 0.5, "logvar_channels": 128}


def edm2_config(net):
    kwargs = dict(net.init_kwargs)
    config = {"precond": "EDM2Precond"}
    for key, default in EDM2_PRECOND.items():
        config[key] = plain(kwargs.pop(key, default))
    config["model"] = {"model_type": "EDM2UNet", **{k: plain(v) for k, v in kwargs.items()}}
    return config


def edm_config(net):
    name = type(net).__name__
    # NVlabs/edm2's Precond. Unpickled, a persistent class lives in a module
    # made from its pickled source ("_imported_module_<hex>"), so it is known
    # by its name and parts, not by its module.
    if name == "Precond" and hasattr(net, "unet") and hasattr(net, "logvar_linear"):
        return edm2_config(net)
    if name not in DEFAULT_MODEL:
        sys.exit(f"not a preconditioned network of the reference: {name}")
    kwargs = dict(net.init_kwargs)
    config = {"precond": name, "augment_dim": 0}
    model = {"model_type": kwargs.pop("model_type", DEFAULT_MODEL[name])}
    for key, value in kwargs.items():
        if key in TOP_KEYS or key in PRECOND_KEYS or key == "augment_dim":
            config[key] = plain(value)
        else:
            model[key] = plain(value)
    config["model"] = model
    return config


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        data = t.numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data section starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pickle", help="network-snapshot-*.pkl of the reference implementation")
    parser.add_argument("output", help="model file to write (.safetensors)")
    args = parser.parse_args()
    with open(args.pickle, "rb") as f:
        data = pickle.load(f)
    net = data["ema"] if isinstance(data, dict) else data
    config = edm_config(net)
    tensors = {k: v.to(torch.float32) if v.is_floating_point() else v for k, v in net.state_dict().items()}
    fmt = "edm2-model-v1" if config["precond"] == "EDM2Precond" else "edm-model-v1"
    write_safetensors(args.output, tensors, {"edm.config": json.dumps(config), "edm.format": fmt})
    encoder = data.get("encoder") if isinstance(data, dict) else None
    if encoder is not None and type(encoder).__name__ != "StandardRGBEncoder":  # pixels in [-1, 1], as edm's
        print("note: the pickle's latent encoder/decoder is not converted; the model works in its latent space")
    print(f"{args.output}: {config['precond']} / {config['model']['model_type']}, {len(tensors)} tensors")


if __name__ == "__main__":
    main()
