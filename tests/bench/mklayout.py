#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tests/bench/mklayout.py - inputs for the storage benchmark (tests/bench/storage.sh).
#
#   mklayout.py data DIR MIB LAYERS
#       LAYERS trees DIR/l1 .. DIR/lLAYERS holding MIB MiB in all of incompressible files
#       (os.urandom) of mixed sizes, under bench/lK/dNNN/ (100 files per directory): by bytes,
#       10% small files (1-16 KiB), 40% medium (16 KiB-1 MiB), 50% large (1-16 MiB); the
#       sizes come from a fixed seed, so every run makes the same tree. Prints the file count.
#   mklayout.py layout OUT NAME LAYER...
#       An OCI image layout at OUT: one manifest of the LAYER tars in order (a name ending in
#       .gz is a tar+gzip layer, its diff_id taken from the decompressed stream), a config
#       (Cmd sh, PATH), index.json naming it NAME (org.opencontainers.image.ref.name). Blobs
#       are hard links to the LAYER files when OUT is on the same filesystem (no copy).
import gzip, hashlib, json, os, random, shutil, sys

KIB = 1024
MIB = 1024 * KIB


def data(out, mib, nlayers):
    rnd = random.Random(20261123)
    budget = mib * MIB
    classes = [(0.10, 1 * KIB, 16 * KIB), (0.40, 16 * KIB, MIB), (0.50, MIB, 16 * MIB)]
    sizes = []
    for share, lo, hi in classes:
        left = int(budget * share)
        while left > 0:
            n = min(left, rnd.randint(lo, hi))
            sizes.append(n)
            left -= n
    rnd.shuffle(sizes)
    for k in range(nlayers):
        os.makedirs(os.path.join(out, "l%d" % (k + 1)), exist_ok=True)
    for i, n in enumerate(sizes):
        k = i % nlayers + 1
        j = i // nlayers
        d = os.path.join(out, "l%d" % k, "bench", "l%d" % k, "d%03d" % (j // 100))
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "f%03d" % (j % 100)), "wb") as f:
            while n > 0:
                c = min(n, 4 * MIB)
                f.write(os.urandom(c))
                n -= c
    print(len(sizes))


def sha256_file(path, opener=open):
    h = hashlib.sha256()
    with opener(path, "rb") as f:
        while True:
            b = f.read(MIB)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def layout(out, name, layers):
    bdir = os.path.join(out, "blobs", "sha256")
    os.makedirs(bdir)

    def put_file(path):
        d = sha256_file(path)
        dst = os.path.join(bdir, d)
        if not os.path.exists(dst):
            try:
                os.link(path, dst)
            except OSError:
                shutil.copyfile(path, dst)
        return d, os.path.getsize(path)

    def put_bytes(data):
        d = hashlib.sha256(data).hexdigest()
        with open(os.path.join(bdir, d), "wb") as f:
            f.write(data)
        return d, len(data)

    ldesc, diff_ids = [], []
    for path in layers:
        gz = path.endswith(".gz")
        d, size = put_file(path)
        diff_ids.append("sha256:" + (sha256_file(path, gzip.open) if gz else d))
        ldesc.append({"mediaType": "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if gz else ""),
                      "digest": "sha256:" + d, "size": size})
    cfg = json.dumps({"created": "2026-11-23T00:00:00Z", "architecture": "amd64", "os": "linux",
                      "config": {"Cmd": ["sh"], "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]},
                      "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    cd, cs = put_bytes(cfg)
    man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                 "digest": "sha256:" + cd, "size": cs},
                      "layers": ldesc}).encode()
    md, ms = put_bytes(man)
    with open(os.path.join(out, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion": "1.0.0"}')
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + md,
             "size": ms, "annotations": {"org.opencontainers.image.ref.name": name}}]}, f)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "data":
        data(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif len(sys.argv) >= 5 and sys.argv[1] == "layout":
        layout(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        sys.exit("usage: mklayout.py data DIR MIB LAYERS | layout OUT NAME LAYER...")
