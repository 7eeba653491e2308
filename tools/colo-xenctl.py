#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""colo-xenctl: a Xen COLO controller, speaking the proxy protocol as libxl
does, against `colo-xdp run --notify` (or colo-ctlsim). For the tests and
to try the protocol by hand.

usage: colo-xenctl.py ADDR MODE [ARGS]
  ADDR  tcp:HOST:PORT or unix:PATH, as colo-xdp prints it
  MODE  checkpoint READY [N]
            handshake, create file READY, answer N DO_CHECKPOINT requests
            (1) with COLO_CHECKPOINT, then close; requests repeated before
            the last answer arrived may follow, anything else fails
        hangup READY
            handshake, create file READY, wait for one DO_CHECKPOINT and
            close without answering it (a controller lost mid-checkpoint)
        abuse
            unknown, oversized and empty messages, then INIT again (the
            connection must stay), then a 1 MiB length (it must close)
Frames: 4-byte big-endian length, then ASCII text. Exits non-zero with a
reason when the comparator does not answer as the protocol says.
"""
import socket
import struct
import sys


def connect(addr):
    if addr.startswith('unix:'):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(addr[5:])
    elif addr.startswith('tcp:'):
        host, port = addr[4:].rsplit(':', 1)
        s = socket.create_connection((host.strip('[]'), int(port)))
    else:
        sys.exit('colo-xenctl: %s is neither tcp:HOST:PORT nor unix:PATH'
                 % addr)
    return s


def send(s, msg):
    s.sendall(struct.pack('>I', len(msg)) + msg)


def recv_exact(s, n, eof_ok=False):
    b = b''
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            if eof_ok and not b:
                return None
            sys.exit('colo-xenctl: the comparator closed the connection')
        b += c
    return b


def recv(s, eof_ok=False):
    h = recv_exact(s, 4, eof_ok)
    if h is None:
        return None
    n, = struct.unpack('>I', h)
    return recv_exact(s, n)


def init(addr):
    s = connect(addr)
    send(s, b'COLO_USERSPACE_PROXY_INIT')
    s.settimeout(0.5)  # libxl waits this long for the reply
    if recv(s) != b'COLO_COMPARE_GET_XEN_INIT':
        sys.exit('colo-xenctl: wrong INIT reply')
    return s


def checkpoint(s, ready, count):
    open(ready, 'w').close()
    s.settimeout(10)
    for i in range(count):
        m = recv(s)
        if m != b'DO_CHECKPOINT':
            sys.exit('colo-xenctl: expected DO_CHECKPOINT, got %r' % m)
        send(s, b'COLO_CHECKPOINT')
    s.shutdown(socket.SHUT_WR)
    while True:
        m = recv(s, eof_ok=True)
        if m is None:
            return
        if m != b'DO_CHECKPOINT':
            sys.exit('colo-xenctl: unexpected %r after the checkpoint' % m)


def hangup(s, ready):
    open(ready, 'w').close()
    s.settimeout(10)
    m = recv(s)
    if m != b'DO_CHECKPOINT':
        sys.exit('colo-xenctl: expected DO_CHECKPOINT, got %r' % m)
    s.close()


def abuse(s):
    send(s, b'HELLO_COLO')             # unknown: no answer
    send(s, b'x' * 1000)               # oversized: skipped
    send(s, b'')                       # empty: unknown
    send(s, b'COLO_USERSPACE_PROXY_INIT')
    s.settimeout(5)
    if recv(s) != b'COLO_COMPARE_GET_XEN_INIT':
        sys.exit('colo-xenctl: no INIT reply after garbage: connection not kept')
    s.sendall(struct.pack('>I', 1 << 20))  # not this protocol: closed
    s.settimeout(10)
    if s.recv(1) != b'':
        sys.exit('colo-xenctl: the connection stayed open after a 1 MiB length')


def main(argv):
    if len(argv) < 3 or argv[2] not in ('checkpoint', 'hangup', 'abuse'):
        sys.exit(__doc__)
    addr, mode = argv[1], argv[2]
    if mode != 'abuse' and len(argv) < 4:
        sys.exit(__doc__)
    s = init(addr)
    if mode == 'checkpoint':
        checkpoint(s, argv[3], int(argv[4]) if len(argv) > 4 else 1)
    elif mode == 'hangup':
        hangup(s, argv[3])
    else:
        abuse(s)


if __name__ == '__main__':
    main(sys.argv)
