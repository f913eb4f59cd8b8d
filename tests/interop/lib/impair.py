"""A userspace stand-in for `tc netem loss L% delay D J` on kernels without sch_netem.

    python3 impair.py TUN LOSS_PCT DELAY_MS JITTER_MS STATS_FILE

Attaches to the existing TUN device TUN (ip tuntap add dev TUN mode tun), reads
every IP packet the kernel routes into it, drops LOSS_PCT % of them at random,
and writes the others back after DELAY_MS +- JITTER_MS (uniform, as netem
without a distribution table), in order of their due time (netem's tfifo). The
namespace routes forwarded packets into the device and the packets that come
back out of it on to their destination. On SIGTERM it writes
"in=N dropped=N out=N" to STATS_FILE and exits.
"""
import fcntl
import heapq
import os
import random
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def main():
    name, loss, delay, jitter, stats_file = sys.argv[1:6]
    loss, delay, jitter = float(loss) / 100, float(delay) / 1000, float(jitter) / 1000
    fd = os.open('/dev/net/tun', os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack('16sH', name.encode(), IFF_TUN | IFF_NO_PI))
    os.set_blocking(fd, False)
    counts = {'in': 0, 'dropped': 0, 'out': 0}
    running = [True]

    def stop(*_):
        running[0] = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    queue = []  # (due, n, packet)
    n = 0
    print('ready', flush=True)
    while running[0]:
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            os.write(fd, heapq.heappop(queue)[2])
            counts['out'] += 1
        timeout = min(0.05, max(0.0, queue[0][0] - now)) if queue else 0.05
        try:
            r, _, _ = select.select([fd], [], [], timeout)
        except InterruptedError:
            continue
        if not r:
            continue
        for _ in range(64):
            try:
                pkt = os.read(fd, 65536)
            except BlockingIOError:
                break
            counts['in'] += 1
            if random.random() < loss:
                counts['dropped'] += 1
                continue
            n += 1
            heapq.heappush(queue, (time.monotonic() + delay + random.uniform(-jitter, jitter), n, pkt))
    with open(stats_file, 'w') as f:
        f.write('in=%(in)d dropped=%(dropped)d out=%(out)d\n' % counts)


if __name__ == '__main__':
    main()
