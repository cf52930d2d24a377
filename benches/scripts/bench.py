"""CPU-bound Python workload for tern's benchmark suite.

Usage: python3 bench.py ROUNDS

Each round runs a bitmask N-queens search, word counting with dicts and
strings, sorting of generated records, and a small class-based particle
simulation; every result is folded into a checksum printed at the end, so
that runs under an emulator can be compared with the native run.
"""

import sys

MASK = (1 << 64) - 1


def mix(h, v):
    h = ((h ^ (v & MASK)) * 0x100000001B3) & MASK
    return h ^ (h >> 29)


class Rng:
    """A seeded 64-bit LCG: the same sequence on every run."""

    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state * 6364136223846793005 + 1442695040888963407) & MASK
        return self.state >> 33

    def below(self, n):
        return self.next() % n


def queens(n):
    full = (1 << n) - 1

    def solve(cols, d1, d2):
        if cols == full:
            return 1
        count = 0
        avail = ~(cols | d1 | d2) & full
        while avail:
            bit = avail & -avail
            avail ^= bit
            count += solve(cols | bit, ((d1 | bit) << 1) & full, (d2 | bit) >> 1)
        return count

    return solve(0, 0, 0)


SYLLABLES = ["ka", "to", "ri", "en", "sa", "mo", "lu", "pe", "an", "is", "or", "ve", "ne", "di", "ga", "ul"]


def words(rng, count):
    vocab = ["".join(SYLLABLES[rng.below(16)] for _ in range(1 + rng.below(3))) for _ in range(300)]
    text = " ".join(vocab[int(len(vocab) * (rng.below(1000) / 1000.0) ** 2)] for _ in range(count))
    freq = {}
    for w in text.split():
        freq[w] = freq.get(w, 0) + 1
    top = sorted(freq.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    h = len(freq)
    for w, c in top:
        h = mix(h, c * 131 + len(w))
    return mix(h, len(text.upper().replace("KA", "ka")))


def records(rng, count):
    rows = [(rng.below(1000), "id%06d" % rng.below(1000000), rng.below(10000) / 100.0) for _ in range(count)]
    rows.sort(key=lambda r: (r[0], r[1]))
    groups = {}
    for k, name, v in rows:
        groups.setdefault(k % 37, []).append(v)
    h = 0
    for k in sorted(groups):
        h = mix(h, int(sum(groups[k]) * 100) + len(groups[k]))
    return mix(h, rows[len(rows) // 2][0])


class Particle:
    __slots__ = ("x", "y", "vx", "vy")

    def __init__(self, x, y, vx, vy):
        self.x, self.y, self.vx, self.vy = x, y, vx, vy

    def step(self, dt):
        self.x += self.vx * dt
        self.y += self.vy * dt
        if self.x < 0 or self.x > 100:
            self.vx = -self.vx
        if self.y < 0 or self.y > 100:
            self.vy = -self.vy


def particles(rng, count, steps):
    ps = [Particle(rng.below(100), rng.below(100), rng.below(21) - 10, rng.below(21) - 10) for _ in range(count)]
    for _ in range(steps):
        for p in ps:
            p.step(0.05)
    return mix(len(ps), int(sum(p.x * 3 + p.y for p in ps)))


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    rng = Rng(12345)
    h = 0xCBF29CE484222325
    for _ in range(rounds):
        h = mix(h, queens(8))
        h = mix(h, words(rng, 6000))
        h = mix(h, records(rng, 4000))
        h = mix(h, particles(rng, 200, 60))
    print("python rounds=%d checksum=%016x" % (rounds, h))


main()
