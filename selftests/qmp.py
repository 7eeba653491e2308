#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""QMP from the tests' side (selftests/qmp.sh): drive a real QEMU's monitor,
or play a broken one.

  qmp.py colo PRI_QMP SEC_QMP URI DELAY_MS
      start COLO: the secondary listens on URI (-incoming), the primary
      gets x-colo, the events capability and x-checkpoint-delay DELAY_MS,
      migrates to URI; returns once both say COLO runs
  qmp.py watch QMP FILE
      append each event QEMU sends to FILE, one JSON object a line, until
      killed; 'ready' on stdout once subscribed
  qmp.py get QMP PARAMETER
      print a migration parameter (query-migrate-parameters)
  qmp.py run QMP COMMAND
      run a command without arguments, print what it returned (JSON)
  qmp.py fake PATH LOG
      listen on the unix socket PATH as a monitor that is not QMP: the
      first connection gets a line of garbage, the second an error reply
      to qmp_capabilities, and so on; one line per connection in LOG
"""
import json
import os
import select
import socket
import sys
import time


class Monitor:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.buf = b''
        self.events = []
        if 'QMP' not in self.read(10):
            sys.exit('%s: no QMP greeting' % path)
        self.cmd('qmp_capabilities')

    def read(self, timeout):
        end = time.monotonic() + timeout
        while b'\n' not in self.buf:
            left = end - time.monotonic()
            if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                return None
            data = self.sock.recv(65536)
            if not data:
                sys.exit('QEMU closed its monitor')
            self.buf += data
        line, self.buf = self.buf.split(b'\n', 1)
        return json.loads(line)

    def cmd(self, name, **args):
        msg = {'execute': name}
        if args:
            msg['arguments'] = args
        self.sock.sendall(json.dumps(msg).encode() + b'\n')
        while True:
            r = self.read(30)
            if r is None:
                sys.exit('%s: no reply in 30 s' % name)
            if 'event' in r:
                self.events.append(r)
            elif 'error' in r:
                sys.exit('%s: %s' % (name, r['error']))
            else:
                return r['return']


def colo(pri_path, sec_path, uri, delay):
    pri, sec = Monitor(pri_path), Monitor(sec_path)
    events = [{'capability': 'events', 'state': True}]
    sec.cmd('migrate-set-capabilities', capabilities=events)
    pri.cmd('migrate-set-capabilities',
            capabilities=events + [{'capability': 'x-colo', 'state': True}])
    pri.cmd('migrate-set-parameters', **{'x-checkpoint-delay': int(delay)})
    pri.cmd('migrate', uri=uri)
    end = time.monotonic() + 30
    while time.monotonic() < end:
        if (pri.cmd('query-migrate').get('status') == 'colo' and
                sec.cmd('query-colo-status')['mode'] == 'secondary'):
            return
        time.sleep(0.05)
    sys.exit('COLO did not start in 30 s')


def watch(path, out):
    mon = Monitor(path)
    mon.cmd('migrate-set-capabilities',
            capabilities=[{'capability': 'events', 'state': True}])
    print('ready', flush=True)
    with open(out, 'a') as f:
        while True:
            for e in mon.events:
                f.write(json.dumps(e) + '\n')
            f.flush()
            mon.events = []
            e = mon.read(3600)
            if e is not None:
                mon.events.append(e)


def fake(path, log):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(path):
        os.unlink(path)
    srv.bind(path)
    srv.listen(4)
    n = 0
    while True:
        conn, _ = srv.accept()
        if n % 2 == 0:
            conn.sendall(b'\x00\xffthis is no monitor\r\n')
            what = 'garbage'
        else:
            conn.sendall(b'{"QMP": {"version": {"qemu": {"micro": 0, '
                         b'"minor": 0, "major": 0}}, "capabilities": []}}\r\n')
            f = conn.makefile('rb')
            req = json.loads(f.readline())
            conn.sendall(json.dumps({
                'id': req.get('id'),
                'error': {'class': 'GenericError',
                          'desc': 'fake monitor says no'}}).encode() + b'\r\n')
            what = 'error reply to ' + req['execute']
        n += 1
        with open(log, 'a') as f:
            f.write(what + '\n')
        # the client closes the connection; wait for that, bounded
        conn.settimeout(5)
        try:
            while conn.recv(4096):
                pass
        except OSError:
            pass
        conn.close()


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == 'colo':
        colo(*args)
    elif cmd == 'watch':
        watch(*args)
    elif cmd == 'get':
        print(Monitor(args[0]).cmd('query-migrate-parameters')[args[1]])
    elif cmd == 'run':
        print(json.dumps(Monitor(args[0]).cmd(args[1])))
    elif cmd == 'fake':
        fake(*args)
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main()
