#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""A peer of QEMU's frame channels for the tests, playing what a stock
QEMU does not do on demand: garbage, a bad length, a reader that stalls,
frames as fast as a socket takes them. The framing (net/filter-mirror.c):
a 4-byte big-endian length, with --vnet a 4-byte big-endian vnet header
length, then that many bytes (the vnet header, then the frame).

  qframe.py send ADDR PCAP [--vnet LEN] [--listen] [--prefix HEX]
      the frames of a pcap file, each with a vnet header of LEN bytes
      (zeros) if --vnet; --prefix: raw bytes first (garbage)
  qframe.py recv ADDR PCAP COUNT [--vnet] [--listen] [--timeout S]
      take COUNT frames into a pcap file (the vnet header left out)
  qframe.py stall ADDR SECONDS [--listen]
      take the connection and read nothing for SECONDS, then drain
      and print the bytes read
  qframe.py flood ADDR COUNT SIZE [--vnet LEN]
      COUNT frames of SIZE bytes as fast as the socket takes them; prints
      frames per second
ADDR: unix:PATH or tcp:HOST:PORT. Prints "ready" once listening."""
import argparse
import socket
import struct
import sys
import time


def sock_of(addr, listen):
    kind, _, rest = addr.partition(":")
    if kind == "unix":
        fam, sa = socket.AF_UNIX, rest
    else:
        host, _, port = rest.rpartition(":")
        fam, sa = socket.AF_INET, (host, int(port))
    s = socket.socket(fam, socket.SOCK_STREAM)
    if not listen:
        for _ in range(100):
            try:
                s.connect(sa)
                return s
            except OSError:
                time.sleep(0.1)
        s.connect(sa)
        return s
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(sa)
    s.listen(1)
    print("ready", flush=True)
    c, _ = s.accept()
    s.close()
    return c


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    off, frames = 24, []
    while off + 16 <= len(data):
        caplen = struct.unpack_from("<I", data, off + 8)[0]
        frames.append(data[off + 16:off + 16 + caplen])
        off += 16 + caplen
    return frames


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for fr in frames:
            f.write(struct.pack("<IIII", 0, 0, len(fr), len(fr)) + fr)


def frame_bytes(fr, vnet):
    if vnet is None:
        return struct.pack(">I", len(fr)) + fr
    return struct.pack(">II", len(fr) + vnet, vnet) + bytes(vnet) + fr


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd")
    p.add_argument("addr")
    p.add_argument("args", nargs="*")
    p.add_argument("--vnet", type=int, nargs="?", const=0, default=None)
    p.add_argument("--listen", action="store_true")
    p.add_argument("--prefix", default="")
    p.add_argument("--timeout", type=float, default=20)
    a = p.parse_args()
    s = sock_of(a.addr, a.listen)
    if a.cmd == "send":
        out = bytes.fromhex(a.prefix) + b"".join(
            frame_bytes(fr, a.vnet) for fr in read_pcap(a.args[0]))
        try:
            s.sendall(out)
            s.shutdown(socket.SHUT_WR)
            s.settimeout(a.timeout)
            s.recv(1)  # until the bridge closes, or has all
        except OSError as e:
            print("send:", e)
    elif a.cmd == "recv":
        s.settimeout(a.timeout)
        frames, want = [], int(a.args[1])
        try:
            while len(frames) < want:
                n, = struct.unpack(">I", recv_exact(s, 4))
                v = struct.unpack(">I", recv_exact(s, 4))[0] \
                    if a.vnet is not None else 0
                frames.append(recv_exact(s, n)[v:])
        except (OSError, EOFError) as e:
            print("recv:", e, file=sys.stderr)
        write_pcap(a.args[0], frames)
        print(len(frames))
    elif a.cmd == "stall":
        time.sleep(float(a.args[0]))
        s.settimeout(1)
        total = 0
        try:
            while True:
                chunk = s.recv(1 << 20)
                if not chunk:
                    break
                total += len(chunk)
        except OSError:
            pass
        print(total)
    elif a.cmd == "flood":
        count, size = int(a.args[0]), int(a.args[1])
        fr = bytes.fromhex("020000000002020000000001") + b"\x08\x00" + \
            bytes(size - 14)
        one = frame_bytes(fr, a.vnet)
        chunk = one * 256
        t = time.monotonic()
        for _ in range(count // 256):
            s.sendall(chunk)
        dt = time.monotonic() - t
        print("%d frames in %.3f s: %.0f frames/s" %
              (count // 256 * 256, dt, count // 256 * 256 / dt))
    s.close()


main()
