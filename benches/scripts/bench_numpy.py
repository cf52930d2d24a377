"""numpy workload for the benchmark suite: N rounds of ufuncs (sin, exp,
log, sqrt, fused arithmetic), reductions, sorting, a matrix product, an FFT
and integer bit operations on 1M-element arrays, all through numpy's
CPUID-dispatched SIMD loops (SSE, AVX2 or AVX-512 by CPU).

Prints figures rounded to 6 significant digits: the last bits of the
transcendental functions depend on which SIMD path numpy took (qemu has no
AVX-512, for instance), so the full-precision results are not compared."""
import sys

import numpy as np

rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
rng = np.random.default_rng(2024)
a = rng.standard_normal(1 << 20)
b = rng.standard_normal(1 << 20)
f = a.astype(np.float32)
i = rng.integers(0, 1 << 40, 1 << 20, dtype=np.int64)
m = rng.standard_normal((256, 256))
acc = 0.0
for r in range(rounds):
    acc += float(np.sin(a).sum()) + float(np.exp(a * 0.5).sum()) + float(np.log1p(np.abs(b)).sum())
    acc += float(np.sqrt(np.abs(a) + r).sum()) + float((a * b + a).sum()) + float(np.hypot(a, b).max())
    acc += float(np.tanh(f).sum()) + float((f * f - f).sum())
    acc += float(np.sort(a[: 1 << 18])[1000]) + float(np.sort(i[: 1 << 18])[1000] % 1000)
    acc += float(np.count_nonzero((i >> 7 & 0xFF) == (i & 0xFF)))
    acc += float((m @ m)[r % 256, 7]) + float(np.abs(np.fft.rfft(a[: 1 << 16])).max())
print(f"{acc:.6e}")
