#!/usr/bin/python3
"""ndfile_peers.py — the peer side of `qv_bench ndfile`: times zarr-python (v2 API) and h5py on
the same array, chunking and access pattern as bench_ndfile.c, and prints one line per result:

    RESULT <peer> <codec> <op> <seconds> <bytes_on_disk>

ops: write (whole array, one call), read (whole array), random (R single-chunk reads).
codecs: none, lz4, zstd. zarr uses numcodecs LZ4(acceleration=1) / Zstd(level=1). h5py has no
LZ4/Zstd filter here (no hdf5plugin), so it runs "lzf" in place of lz4 and "gzip" (level 1) in
place of zstd, and says so in the codec column (e.g. lz4=lzf).
The data is float32 v[i, j] = ((i*131 + j*7) % 10007) / 16 — identical in C and numpy.
Random chunk indices come from the same 64-bit LCG as the C side. Every timed step starts
after os.sync(), so no system pays for another's pending writeback, and every read goes into a
preallocated, already touched output array (zarr get_basic_selection(out=), h5py read_direct),
as the C side reads into a preallocated buffer: nobody pays for first-touch page faults.
Reads (whole and random) are the best of 5 runs, each on a freshly opened array; writes the
best of 3, each into a fresh directory or file.
"""
import argparse
import contextlib
import os
import shutil
import sys
import time

import numpy as np

REPS = 5  # reads are timed REPS times (reopening each time) and the best reported, as on the C
          # side: on a shared VM the same read varies by 30-50% from run to run (for every
          # library), and the fastest run is the one least disturbed
WREPS = 3  # writes of the whole array: best of 3


def best(v):
    return min(v)


def make_data(n):
    i = np.arange(n, dtype=np.int64)[:, None]
    out = np.empty((n, n), dtype=np.float32)
    step = max(1, (1 << 24) // n)
    for r0 in range(0, n, step):
        r1 = min(n, r0 + step)
        out[r0:r1] = (((i[r0:r1] * 131 + np.arange(n, dtype=np.int64)[None, :] * 7) % 10007)
                      .astype(np.float32) / np.float32(16))
    return out


def lcg_chunks(count, nchunks):
    x = 0x9E3779B97F4A7C15
    res = []
    for _ in range(count):
        x = (x * 6364136223846793005 + 1442695040888963407) & ((1 << 64) - 1)
        res.append((x >> 33) % nchunks)
    return res


def du(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


def timed(fn):
    """Seconds fn() takes, started after os.sync(): no system pays for another's writeback."""
    os.sync()
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def best_write(remove, write):
    """The best of WREPS whole-array writes, each after remove() of the previous one."""
    def once():
        remove()
        return timed(write)
    return best([once() for _ in range(WREPS)])


def best_reads(open_array, a, out, out1, picks, n, c, peer):
    """The best of REPS whole reads and of REPS runs of the random chunk reads, each run on an
    array freshly opened by open_array() (a context manager yielding (read_all, read_chunk)):
    read_all(out) reads everything, read_chunk(r0, r1, q0, q1, out1) one chunk."""
    g = n // c
    trs, trrs = [], []
    for _ in range(REPS):
        with open_array() as (read_all, read_chunk):
            out.fill(0)
            trs.append(timed(lambda: read_all(out)))
            assert np.array_equal(a, out), "%s read back differs" % peer

            def chunks():
                for k in picks:
                    r, q = divmod(k, g)
                    read_chunk(r * c, (r + 1) * c, q * c, (q + 1) * c, out1)
            trrs.append(timed(chunks))
    return best(trs), best(trrs)


def run_zarr(a, n, c, d, picks, codec, out, out1):
    import numcodecs
    import zarr
    comp = {"none": None, "lz4": numcodecs.LZ4(acceleration=1), "zstd": numcodecs.Zstd(level=1)}[codec]
    path = os.path.join(d, "zarr-%s" % codec)

    def write():
        z = zarr.open(zarr.DirectoryStore(path), mode="w", shape=(n, n), chunks=(c, c), dtype="f4",
                      compressor=comp)
        z[:] = a

    @contextlib.contextmanager
    def open_array():
        z = zarr.open(zarr.DirectoryStore(path), mode="r")
        yield (lambda o: z.get_basic_selection(slice(None), out=o),
               lambda r0, r1, q0, q1, o: z.get_basic_selection((slice(r0, r1), slice(q0, q1)), out=o))

    tw = best_write(lambda: shutil.rmtree(path, ignore_errors=True), write)
    size = du(path)
    tr, trr = best_reads(open_array, a, out, out1, picks, n, c, "zarr")
    shutil.rmtree(path, ignore_errors=True)
    return tw, tr, trr, size


def run_h5(a, n, c, d, picks, codec, out, out1):
    import h5py
    kw = {"none": {}, "lz4": {"compression": "lzf"}, "zstd": {"compression": "gzip", "compression_opts": 1}}[codec]
    path = os.path.join(d, "h5-%s.h5" % codec)

    def remove():
        if os.path.exists(path):
            os.remove(path)

    def write():
        with h5py.File(path, "w") as f:
            ds = f.create_dataset("a", shape=(n, n), dtype="f4", chunks=(c, c), **kw)
            ds[...] = a
            f.flush()

    @contextlib.contextmanager
    def open_array():
        with h5py.File(path, "r") as f:
            ds = f["a"]
            yield (lambda o: ds.read_direct(o),
                   lambda r0, r1, q0, q1, o: ds.read_direct(o, source_sel=np.s_[r0:r1, q0:q1]))

    tw = best_write(remove, write)
    size = du(path)
    tr, trr = best_reads(open_array, a, out, out1, picks, n, c, "h5py")
    os.remove(path)
    return tw, tr, trr, size


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--chunk", type=int, required=True)
    ap.add_argument("--reads", type=int, default=1000)
    ap.add_argument("--dir", required=True)
    args = ap.parse_args()
    n, c = args.n, args.chunk
    a = make_data(n)
    out = np.zeros((n, n), dtype=np.float32)  # touched: no first-touch faults while timing
    out1 = np.zeros((c, c), dtype=np.float32)
    picks = lcg_chunks(args.reads, (n // c) * (n // c))
    for codec in ("none", "lz4", "zstd"):
        for peer, fn in (("zarr", run_zarr), ("h5py", run_h5)):
            try:
                tw, tr, trr, size = fn(a, n, c, args.dir, picks, codec, out, out1)
            except ImportError as e:
                print("SKIP %s %s" % (peer, e), flush=True)
                continue
            label = codec
            if peer == "h5py" and codec != "none":
                label = codec + ("=lzf" if codec == "lz4" else "=gzip1")
            for op, sec in (("write", tw), ("read", tr), ("random", trr)):
                print("RESULT %s %s %s %.6f %d" % (peer, label, op, sec, size), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
