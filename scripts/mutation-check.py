#!/usr/bin/env python3
"""Mutation check of lmsim's functional tests (docs/validation.md, "Mutation check").

Each mutation changes one line of one functional kernel (src/hw/functional_datapath.cpp): a
rounding, an exponent index, a transpose, an off-by-one in a tile loop. For each, the script
applies it, rebuilds the test binary in BUILD_DIR, runs the functional tests and requires them
to FAIL; then it restores the file. At the end it rebuilds the unmutated tree. Exit status 1 if
any mutation survives (the tests did not notice it), 2 on a setup error.

Usage: scripts/mutation-check.py [--build-dir build] [--only NAME ...] [--list]
"""
import argparse
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KERNELS = "src/hw/functional_datapath.cpp"
# The functional tests: the stream checks against the golden model (tests/test_functional.cpp).
TEST_FILTER = "functional datapath"

# (name, kernel, file, original text (must occur exactly once), mutated text)
MUTATIONS = [
    ("residual-lane", "RESIDUAL", KERNELS,
     "int64_t v = (*buf)[k].v[i] + io.in[0][0].v[i];",
     "int64_t v = (*buf)[k].v[i] + io.in[0][0].v[7 - i];"),
    ("rmsnorm-rsqrt-shift", "RMSNORM_QUANT_1/2", KERNELS,
     "const int64_t xr = (st->x[8 * k + i] * st->rsqrt) >> kRsqrtShift1;",
     "const int64_t xr = (st->x[8 * k + i] * st->rsqrt) >> (kRsqrtShift1 + 1);"),
    ("rmsnorm-weight-index", "RMSNORM_QUANT_1/2", KERNELS,
     "y[i] = (xr * w[8 * k + i]) >> kNormWeightShift;",
     "y[i] = (xr * w[8 * k + (i ^ 1)]) >> kNormWeightShift;"),
    ("gemm-mux-replay", "GEMM_MUX", KERNELS,
     "const int64_t first = (e.iter % inputs) * tiles;",
     "const int64_t first = ((e.iter + 1) % inputs) * tiles;"),
    ("gemm-group-off-by-one", "GEMM", KERNELS,
     "if ((i + 1) % (kWeightGroup / cols) == 0 || i == inputs - 1)",
     "if ((i + 2) % (kWeightGroup / cols) == 0 || i == inputs - 1)"),
    ("gemm-input-exponent", "GEMM", KERNELS,
     "s += w.v[r * cols + c] * shl(x.v[c], x.s[c / kQuantGroup]);",
     "s += w.v[r * cols + c] * shl(x.v[c], x.s[0]);"),
    ("gemm-second-scale", "GEMM", KERNELS,
     "((int64_t{1} << w.s[r]) + (int64_t{1} << w.s[rows + r]))",
     "((int64_t{1} << w.s[r]) + (int64_t{1} << w.s[r]))"),
    ("quant-conv-bits", "QUANT_CONV", KERNELS,
     'quantized(io.in[0][0].v.data(), 8, "xBC before conv")',
     'quantized(io.in[0][0].v.data(), 7, "xBC before conv")'),
    ("conv-state-shift", "CONV_STATE", KERNELS,
     "s.s = {s.s[1], s.s[2], x.s[0]};",
     "s.s = {s.s[0], s.s[2], x.s[0]};"),
    ("conv-new-column-exponent", "CONV", KERNELS,
     "acc += shl(t3.v[i] * t3.v[8 + i], t3.s[0] + t3.s[1]);",
     "acc += shl(t3.v[i] * t3.v[8 + i], t3.s[0] + t3.s[2]);"),
    ("silu-index", "SILU_QUANT", KERNELS,
     "for (int i = 0; i < 8; ++i) v[i] = m.luts.silu.lookup(io.in[0][0].v[i]);",
     "for (int i = 0; i < 8; ++i) v[i] = m.luts.silu.lookup(io.in[0][0].v[i] + 32);"),
    ("dtadapt-bias-exponent-group", "DTADAPT", KERNELS,
     "L(e.layer).dt_bias_exp[grp]);",
     "L(e.layer).dt_bias_exp[0]);"),
    ("dta-exponent-group", "DTA", KERNELS,
     "dt.s[0] + L(e.layer).A_exp[grp], kDtAShift,",
     "dt.s[0] + L(e.layer).A_exp[0], kDtAShift,"),
    ("exp-index", "EXP_QUANT", KERNELS,
     "for (int i = 0; i < 8; ++i) v[i] = m.luts.exp.lookup(io.in[0][0].v[i]);",
     "for (int i = 0; i < 8; ++i) v[i] = m.luts.exp.lookup(io.in[0][0].v[i] + 8);"),
    ("dtb-b-lane", "DTB_QUANT", KERNELS,
     "v[i] = shl(dt->v[i] * b->v[n % kTokenLanes], dt->s[0] + b->s[0]);",
     "v[i] = shl(dt->v[i] * b->v[(n + 1) % kTokenLanes], dt->s[0] + b->s[0]);"),
    ("dbu-rounding", "DBU", KERNELS,
     "t.v.push_back(q2 >> kDbuShift);",
     "t.v.push_back((q2 + (int64_t{1} << (kDbuShift - 1))) >> kDbuShift);"),
    ("dah-rounding", "DAH", KERNELS,
     "t.v.push_back(q1 >> kDahShift);",
     "t.v.push_back((q1 + (int64_t{1} << (kDahShift - 1))) >> kDahShift);"),
    ("ht-add-transpose", "HT_ADD_QUANT", KERNELS,
     "for (int k = 0; k < kTransposeTile; ++k) col[k] = (*tile)[k * kTokenLanes + ch];",
     "for (int k = 0; k < kTransposeTile; ++k) col[k] = (*tile)[ch * kTokenLanes + k];"),
    ("ht-state-wide-n", "HT_STATE (widened)", KERNELS,
     "const int64_t n = (it % tile_iters) * kk + j;",
     "const int64_t n = (it % tile_iters) * kk + (kk - 1 - j);"),
    ("wide-demux-slice", "GEMM_DEMUX (wide MMU)", KERNELS,
     "const int64_t slice = io.in_iter % tiles;",
     "const int64_t slice = (io.in_iter + 1) % tiles;"),
    ("ht-state-exponent", "HT_STATE", KERNELS,
     "t.s = {st->hs[si]};",
     "t.s = {st->hs[si ^ 1]};"),
    ("ud-exponent-group", "UD", KERNELS,
     "u.s[0] + L(e.layer).D_exp[h / 8], kUdShift,",
     "u.s[0] + L(e.layer).D_exp[0], kUdShift,"),
    ("htc-c-lane", "HTC_QUANT", KERNELS,
     "for (int k = 0; k < kTransposeTile; ++k) accg += h2.v[k] * c->v[k];",
     "for (int k = 0; k < kTransposeTile; ++k) accg += h2.v[k] * c->v[7 - k];"),
    ("yz-shift", "YZ", KERNELS,
     'shifted_product(y.v[i], z.v[i], y.s[0] + z.s[0], kYzShift, kProductBits, "y*z")',
     'shifted_product(y.v[i], z.v[i], y.s[0] + z.s[0], kYzShift + 1, kProductBits, "y*z")'),
    ("htu-butterfly", "HTU", KERNELS,
     "v[j + len] = a - b;",
     "v[j + len] = b - a;"),
]


def sh(cmd, **kw):
    return subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def build(build_dir):
    r = sh(["cmake", "--build", build_dir, "-j2", "--target", "lmsim_tests"])
    return r.returncode == 0, r.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    chosen = [m for m in MUTATIONS if a.only is None or m[0] in a.only]
    if a.list:
        for name, kernel, path, _, _ in chosen:
            print(f"{name:32s} {kernel:18s} {path}")
        return 0
    if not os.path.isdir(os.path.join(ROOT, a.build_dir)):
        print(f"mutation-check: no build directory {a.build_dir} (run cmake first)", file=sys.stderr)
        return 2
    survivors = []
    print(f"{'mutation':32s} {'kernel':18s} result")
    for name, kernel, path, old, new in chosen:
        full = os.path.join(ROOT, path)
        src = open(full).read()
        if src.count(old) != 1:
            print(f"mutation-check: {name}: the original text occurs {src.count(old)} times in {path}", file=sys.stderr)
            return 2
        t0 = time.time()
        try:
            open(full, "w").write(src.replace(old, new))
            ok, log = build(a.build_dir)
            if not ok:
                # A mutation that does not compile tests nothing: a setup error, not a catch.
                print(log[-2000:], file=sys.stderr)
                print(f"mutation-check: {name}: the mutated tree does not compile", file=sys.stderr)
                open(full, "w").write(src)
                build(a.build_dir)
                return 2
            else:
                # One failing test is enough: stop there (the widened designs make the whole set ~15 s).
                r = sh(["ctest", "--test-dir", a.build_dir, "-R", TEST_FILTER, "-j2", "--timeout", "600", "--stop-on-failure"])
                if r.returncode == 0:
                    result = "SURVIVED"
                    survivors.append(name)
                else:
                    failed = sum(1 for line in r.stdout.splitlines() if "***Failed" in line)
                    result = f"caught ({failed} test(s) failed)"
        finally:
            open(full, "w").write(src)
        print(f"{name:32s} {kernel:18s} {result}  [{time.time() - t0:.0f} s]", flush=True)
    ok, log = build(a.build_dir)
    if not ok:
        print(log[-3000:], file=sys.stderr)
        print("mutation-check: the restored tree does not build", file=sys.stderr)
        return 2
    print(f"{len(chosen) - len(survivors)} of {len(chosen)} mutations caught" +
          (f"; survived: {', '.join(survivors)}" if survivors else ""))
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
