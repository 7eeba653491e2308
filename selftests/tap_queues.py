#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Play a multi-queue VM on a tap: tap_queues.py TAP N.

Attaches N queues to the multi_queue tap TAP (as QEMU does with
queues=N), prints "ready" once they are all attached, then reads one
command per line from stdin and writes a UDP stream into one queue:

    QUEUE SPORT COUNT IP_ID FILE

COUNT frames from 10.0.0.1:SPORT to 10.0.0.2:9, their IPv4 IDs from IP_ID
on (not compared: the secondary's differ), each frame's hex appended to
FILE ("-": none), then "done QUEUE SPORT" on stdout. The frames of one
stream go through one queue, as a guest's flow does. Ends at EOF, which
detaches the queues.
"""
import fcntl
import os
import struct
import sys

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
IFF_MULTI_QUEUE = 0x0100
GUEST_MAC = bytes.fromhex("020000000001")
CLIENT_MAC = bytes.fromhex("020000000002")


def checksum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def frame(sport, i, ip_id):
    payload = struct.pack("!HI", sport, i) * 10
    udp = struct.pack("!HHHH", sport, 9, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), ip_id & 0xFFFF,
                     0, 64, 17, 0, bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return CLIENT_MAC + GUEST_MAC + b"\x08\x00" + ip + udp


def main():
    tap, n = sys.argv[1], int(sys.argv[2])
    fds = []
    for _ in range(n):
        fd = os.open("/dev/net/tun", os.O_RDWR)
        ifr = struct.pack("16sH", tap.encode(),
                          IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE)
        fcntl.ioctl(fd, TUNSETIFF, ifr)
        fds.append(fd)
    print("ready", flush=True)
    for line in sys.stdin:
        q, sport, count, ip_id, path = line.split()
        q, sport, count, ip_id = int(q), int(sport), int(count), int(ip_id)
        out = open(path, "a") if path != "-" else None
        for i in range(count):
            f = frame(sport, i, ip_id + i)
            os.write(fds[q], f)
            if out:
                out.write(f.hex() + "\n")
        if out:
            out.close()
        print("done", q, sport, flush=True)


main()
