#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets (fuzz/corpus/<target>/): small valid inputs, so
that the fuzzers start from the formats' structure. Run from the repository root; the output is
committed (rerun only to change the seeds)."""
import json
import os
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def put(target, name, data):
    os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    with open(os.path.join(CORPUS, target, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def safetensors(tensors, metadata=None):
    """tensors: name -> (dtype, shape, raw bytes)."""
    header, data = {}, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


def f32(n, v=0.25):
    return struct.pack("<%df" % n, *([v] * n))


def tiny_checkpoint(n_layer=1, d_model=4, expand=2, headdim=4, d_state=2, d_conv=2, vocab=4, tied=True):
    d_inner = expand * d_model
    nheads = d_inner // headdim
    conv_dim = d_inner + 2 * d_state
    d_in_proj = 2 * d_inner + 2 * d_state + nheads
    t = {"backbone.embedding.weight": ("F32", [vocab, d_model], f32(vocab * d_model)),
         "backbone.norm_f.weight": ("F32", [d_model], f32(d_model, 1.0))}
    for i in range(n_layer):
        p = "backbone.layers.%d." % i
        t[p + "norm.weight"] = ("F32", [d_model], f32(d_model, 1.0))
        t[p + "mixer.in_proj.weight"] = ("F32", [d_in_proj, d_model], f32(d_in_proj * d_model))
        t[p + "mixer.conv1d.weight"] = ("F32", [conv_dim, 1, d_conv], f32(conv_dim * d_conv))
        t[p + "mixer.conv1d.bias"] = ("F32", [conv_dim], f32(conv_dim))
        t[p + "mixer.dt_bias"] = ("F32", [nheads], f32(nheads))
        t[p + "mixer.A_log"] = ("F32", [nheads], f32(nheads))
        t[p + "mixer.D"] = ("F32", [nheads], f32(nheads, 1.0))
        t[p + "mixer.norm.weight"] = ("F32", [d_inner], f32(d_inner, 1.0))
        t[p + "mixer.out_proj.weight"] = ("F32", [d_model, d_inner], f32(d_model * d_inner))
    if not tied:
        t["lm_head.weight"] = ("F32", [vocab, d_model], f32(vocab * d_model))
    return safetensors(t)


def main():
    # config: "document %% overrides"; an empty document is configs/vck190.json.
    for name in ("vck190", "u280"):
        with open(os.path.join(ROOT, "configs", name + ".json")) as f:
            put("config", name, f.read() + "%%\n")
    put("config", "overrides-ssmu", "%%\ndesign.ssmu.lanes=16\ndesign.mmu.input_lanes=32\ndesign.mmu.output_lanes=16\n")
    put("config", "overrides-memory", "%%\nplatform.memory.fidelity=command\ndesign.axi.state_master.memory=secondary\n")
    put("config", "overrides-fifo", "%%\ndesign.fifo_depths.ht_state_to_dah=57\ndesign.reorder=false\nclock_mhz=300\n")
    put("config", "overrides-bad", "%%\ndesign.ssmu.lanes=24\nno.such.path=1\n")
    # sweep: the shipped sweeps and a small one with a tie and a choice.
    for name in ("u280", "vck190"):
        with open(os.path.join(ROOT, "configs", "sweeps", name + ".json")) as f:
            put("sweep", name, f.read())
    put("sweep", "small", json.dumps({
        "base": "vck190", "model": "mamba2-tiny", "tokens": 1,
        "parameters": {"design.mmu.input_lanes": {"values": [8, 16]},
                       "design.ssmu.lanes": {"range": [8, 16], "step": 8},
                       "memory": {"choices": {"lp": ["design.axi.state_master.memory=primary"],
                                              "ddr": ["design.axi.state_master.memory=secondary"]}}},
        "ties": {"design.mmu.output_lanes": "design.mmu.input_lanes / 2"},
        "constraints": ["resources.lut.fraction <= 1"],
        "objectives": {"decode.tokens_per_s": {"maximise": True, "reference": 0}},
        "search": {"method": "grid"}}, indent=1))
    # safetensors: a tiny checkpoint (tied and untied), mixed dtypes, an empty file.
    put("safetensors", "checkpoint-tied", tiny_checkpoint())
    put("safetensors", "checkpoint-untied", tiny_checkpoint(n_layer=2, tied=False))
    put("safetensors", "dtypes", safetensors({
        "a": ("F16", [2, 2], struct.pack("<4e", 1, 2, 3, 4)),
        "b": ("BF16", [2], b"\x80\x3f\x00\x40"),
        "c": ("I8", [3], b"\x01\xff\x7f"),
        "d": ("I64", [1], struct.pack("<q", -5)),
        "e": ("F64", [1], struct.pack("<d", 0.5)),
        "f": ("U8", [0], b"")}, {"format": "pt"}))
    put("safetensors", "empty-header", safetensors({}))
    # vectors: the first byte picks the format ('j' JSON, else safetensors).
    vocab = 4
    put("vectors", "json", "j" + json.dumps({"input_ids": [[1, 2]], "prefill_last_logits": [[0.1] * vocab],
                                            "decode_tokens": [3], "decode_logits": [[0.2] * vocab]}))
    put("vectors", "safetensors", b"s" + safetensors({
        "input_ids": ("I32", [1, 2], struct.pack("<2i", 1, 2)),
        "prefill_last_logits": ("F32", [1, vocab], f32(vocab)),
        "decode_tokens": ("I32", [1], struct.pack("<i", 3)),
        "decode_logits": ("F32", [1, vocab], f32(vocab))}))
    with open(os.path.join(ROOT, "tests", "data", "mamba2-tiny.vectors.safetensors"), "rb") as f:
        put("vectors", "mamba2-tiny", b"s" + f.read())
    # cli: one line per argument.
    for i, line in enumerate([
            "run\nvck190\n--tokens\n2\n--set\ndesign.reorder=false\n--quiet",
            "run\n--functional\n--model\nmamba2-tiny\n--prompt\n1,2,3\n--rotation\noffline",
            "golden\n--model\nmamba2-tiny\n--tokens\n3",
            "dse\nconfigs/sweeps/u280.json\n--out\n/tmp/x\n--jobs\n2\n--shard\n1/4",
            "dse\nmerge\nconfigs/sweeps/u280.json\na\nb\n--out\nc",
            "energy\nvck190\nu280\n--model\nmamba2-130m\n--json\nx.json",
            "check\nu280\n--set\ndesign.ssmu.lanes=32",
            "membench\n--help",
            "bench\ndse\n--jobs\n3",
            "regress\n--label\nquick"]):
        put("cli", "args-%d" % i, line)


if __name__ == "__main__":
    main()
