#!/usr/bin/env python3
# tests/integration/mkarchive.py KIND ROOTFS OUT - image archives for images.bats, built from
# the busybox ROOTFS: KIND is docker-save (old layout: <id>/layer.tar + manifest.json with a
# RepoTag), oci (an OCI image layout directory with digests), oci-baddigest (the same with one
# layer's bytes changed after hashing), or traversal (a docker-save whose second layer writes
# ../escape). Layer 2 adds /etc/greeting, deletes /etc/motd-old (a whiteout) and makes /srv
# opaque (drops layer 1's /srv/old, keeps its own /srv/new).
import hashlib, io, json, os, sys, tarfile

kind, rootfs, out = sys.argv[1:4]

def tar_bytes(add):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        add(t)
    return buf.getvalue()

def add_file(t, name, data, mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = mode
    t.addfile(ti, io.BytesIO(data))

def layer1(t):
    t.add(rootfs, arcname=".")
    add_file(t, "etc/motd-old", b"old\n")
    add_file(t, "srv/old", b"old\n")

def layer2(t):
    add_file(t, "etc/greeting", b"hello from layer 2\n")
    add_file(t, "etc/.wh.motd-old", b"")
    add_file(t, "srv/.wh..wh..opq", b"")
    add_file(t, "srv/new", b"new\n")
    if kind == "traversal":
        add_file(t, "../escape", b"out\n")

layers = [tar_bytes(layer1), tar_bytes(layer2)]
config = {
    "created": "2026-01-02T03:04:05Z",
    "architecture": "amd64", "os": "linux",
    "config": {"Cmd": ["cat", "/etc/greeting"], "Env": ["PATH=/bin", "GREETING=yes"],
               "WorkingDir": "/srv", "ExposedPorts": {"8080/tcp": {}}},
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]},
}
cfg = json.dumps(config).encode()

def outer(files):
    with tarfile.open(out, "w") as t:
        for name, data in files:
            add_file(t, name, data)

if kind in ("docker-save", "traversal"):
    files = [("cfg%s.json" % hashlib.sha256(cfg).hexdigest()[:8], cfg)]
    names = []
    for i, l in enumerate(layers):
        files.append(("layer%d/layer.tar" % i, l))
        names.append("layer%d/layer.tar" % i)
    files.append(("manifest.json", json.dumps([{"Config": files[0][0], "RepoTags": ["greet:1"], "Layers": names}]).encode()))
    outer(files)
else:
    blobs = {}
    def blob(data):
        d = hashlib.sha256(data).hexdigest()
        blobs[d] = data
        return d
    ldesc = []
    for l in layers:
        ldesc.append({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": "sha256:" + blob(l), "size": len(l)})
    cd = blob(cfg)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + cd, "size": len(cfg)},
                           "layers": ldesc}).encode()
    md = blob(manifest)
    index = json.dumps({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "digest": "sha256:" + md, "size": len(manifest),
                        "annotations": {"org.opencontainers.image.ref.name": "ocigreet"}}]}).encode()
    if kind == "oci-baddigest":
        d = ldesc[1]["digest"][7:]
        blobs[d] = blobs[d][:-1] + b"x"
    os.makedirs(os.path.join(out, "blobs", "sha256"))
    with open(os.path.join(out, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion": "1.0.0"}')
    with open(os.path.join(out, "index.json"), "wb") as f:
        f.write(index)
    for d, data in blobs.items():
        with open(os.path.join(out, "blobs", "sha256", d), "wb") as f:
            f.write(data)
