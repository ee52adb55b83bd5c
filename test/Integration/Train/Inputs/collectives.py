"""Prints a --report file's collectives, one per line: KIND AXES TENSOR SHAPE."""
import json
import sys

for c in json.load(open(sys.argv[1]))["collectives"]:
    shape = "x".join(str(d) for d in c["local_shape"]) or "scalar"
    print(c["kind"], ",".join(c["axes"]), c["tensor"], shape)
