# The loader of the benchmarks: SET key:%012d (redis-benchmark's -r key names, so its later
# loads hit the same keys) for every FIRST + i*STRIDE < END, pipelined 500 at a time, into the
# server on 127.0.0.1:PORT. Each value is 500 random bytes then 500 bytes of TAG repeated:
# compressible to about half, like db_bench's default --compression_ratio 0.5, so neither zstd
# (ordo) nor the copy tools see unrealistically compressible data.
#
#   python3 bench/load_keys.py PORT FIRST END STRIDE TAG
import os, socket, sys
port, first, end, stride, tag = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5].encode()
s = socket.create_connection(("127.0.0.1", port))
batch = 500
keys = range(first, end, stride)
pad = tag * (500 // len(tag)) + b"x" * (500 % len(tag))
for start in range(0, len(keys), batch):
    part = keys[start:start + batch]
    out = []
    for k in part:
        key = b"key:%012d" % k
        value = os.urandom(500) + pad
        out.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, len(value), value))
    s.sendall(b"".join(out))
    want, got = 5 * len(part), b""
    while len(got) < want:
        chunk = s.recv(1 << 20)
        if not chunk:
            sys.exit("load.py: connection closed")
        got += chunk
    if got != b"+OK\r\n" * len(part):
        sys.exit("load.py: unexpected reply %r" % got[:200])
