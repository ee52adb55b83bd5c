"""Prints an N-layer transformer stack (graph dialect), data parallel: only
the batch of the input is annotated. argv: N."""
import sys

n = int(sys.argv[1])
B, S, H, NH, F = 8, 16, 64, 8, 256
HD = H // NH


def t(shape):
    return "tensor<" + "x".join(map(str, shape)) + "xf32>"


args = ['%x: {} {{graph.name = "x", sharding.sharding = '
        '#sharding.tensor<@mesh, [{{"data"}}, {{}}, {{}}]>}}'.format(t([B, S, H]))]
body = []
x = "%x"
for l in range(n):
    w = {k: "%%w%d_%s" % (l, k) for k in ("g", "q", "k", "v", "o", "f1", "f2")}
    args += ["%s: %s" % (w["g"], t([H]))]
    args += ["%s: %s" % (w[k], t([H, H])) for k in ("q", "k", "v", "o")]
    args += ["%s: %s" % (w["f1"], t([H, F])), "%s: %s" % (w["f2"], t([F, H]))]
    p = "%%l%d_" % l

    def op(name, text):
        body.append('  %s%s = %s loc("l%d.%s")' % (p, name, text, l, name))
        return p + name

    ln = op("ln", "graph.layer_norm %s, %s, %s : (%s, %s, %s) -> %s"
            % (x, w["g"], w["g"], t([B, S, H]), t([H]), t([H]), t([B, S, H])))
    hs = {}
    for k, perm, shape in (("q", "0, 2, 1, 3", [B, NH, S, HD]), ("k", "0, 2, 3, 1", [B, NH, HD, S]),
                           ("v", "0, 2, 1, 3", [B, NH, S, HD])):
        m = op(k, "graph.matmul %s, %s : (%s, %s) -> %s" % (ln, w[k], t([B, S, H]), t([H, H]), t([B, S, H])))
        r = op(k + "r", "graph.reshape %s {shape = array<i64: %d, %d, %d, %d>} : (%s) -> %s"
               % (m, B, S, NH, HD, t([B, S, H]), t([B, S, NH, HD])))
        hs[k] = op(k + "t", "graph.transpose %s {perm = array<i64: %s>} : (%s) -> %s"
                   % (r, perm, t([B, S, NH, HD]), t(shape)))
    s = op("s", "graph.matmul %s, %s : (%s, %s) -> %s" % (hs["q"], hs["k"], t([B, NH, S, HD]), t([B, NH, HD, S]), t([B, NH, S, S])))
    pr = op("p", "graph.softmax %s {axis = 3 : i64} : (%s) -> %s" % (s, t([B, NH, S, S]), t([B, NH, S, S])))
    c = op("c", "graph.matmul %s, %s : (%s, %s) -> %s" % (pr, hs["v"], t([B, NH, S, S]), t([B, NH, S, HD]), t([B, NH, S, HD])))
    ct = op("ct", "graph.transpose %s {perm = array<i64: 0, 2, 1, 3>} : (%s) -> %s" % (c, t([B, NH, S, HD]), t([B, S, NH, HD])))
    cr = op("cr", "graph.reshape %s {shape = array<i64: %d, %d, %d>} : (%s) -> %s" % (ct, B, S, H, t([B, S, NH, HD]), t([B, S, H])))
    o = op("o", "graph.matmul %s, %s : (%s, %s) -> %s" % (cr, w["o"], t([B, S, H]), t([H, H]), t([B, S, H])))
    x1 = op("res1", "graph.add %s, %s : (%s, %s) -> %s" % (x, o, t([B, S, H]), t([B, S, H]), t([B, S, H])))
    h = op("f1", "graph.matmul %s, %s : (%s, %s) -> %s" % (x1, w["f1"], t([B, S, H]), t([H, F]), t([B, S, F])))
    r = op("relu", "graph.relu %s : %s" % (h, t([B, S, F])))
    y = op("f2", "graph.matmul %s, %s : (%s, %s) -> %s" % (r, w["f2"], t([B, S, F]), t([F, H]), t([B, S, H])))
    x = op("res2", "graph.add %s, %s : (%s, %s) -> %s" % (x1, y, t([B, S, H]), t([B, S, H]), t([B, S, H])))
print('sharding.mesh @mesh = <["data"=2]>')
print("func.func @main(%s) -> %s {" % (",\n    ".join(args), t([B, S, H])))
print("\n".join(body))
print("  return %s : %s\n}" % (x, t([B, S, H])))
