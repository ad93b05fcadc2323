#!/usr/bin/env python3
"""Helpers of run_cli_tests.sh that parse things: README.md, JSON, .npy, SVG.

Each subcommand prints nothing and exits 0 when its check holds; otherwise
it prints one line saying what differs and exits 1.

  commands README                 the ```sh commands of the CLI sections, one per line
  info-table README ACTUAL        README's info table vs `resnetc info` output
  classify-table README ACTUAL    README's classify example vs classify's output
  top-table README ACTUAL         README's driver --top example vs the driver's output
  json JSON                       `info --json` has every documented field, totals add up
  top OUTPUT LOGITS.npy K         driver --top rows: sorted softmax scores of the logits
  options HELP README MAN         every option of --help is in README's table and the man page
  svg COMMITTED FRESH|-           same node names and edge count (FRESH '-': names only)
  dot DOT JSON                    every node of `info --json` is a box of the DOT graph
  images-npy DIR CAL.npy IN.npy   DIR's 28x28 PGM images, normalized as the demo's training was:
                                  all stacked (Kx1x28x28) into CAL, the first (1x1x28x28) into IN
  qdq MODEL FLOAT                 MODEL, from `resnetc quantize FLOAT`: onnx.checker accepts it,
                                  QuantizeLinear/DequantizeLinear, int8 weights, int32 biases,
                                  FLOAT's inputs and outputs, unique names
"""
import json
import math
import re
import struct
import sys

FIRST, LAST = "## Install", "## Describing a ResNet in YAML"


def fail(msg):
    print(msg)
    sys.exit(1)


def cli_sections(readme):
    text = open(readme, encoding="utf-8").read()
    a, b = text.find("\n" + FIRST), text.find("\n" + LAST)
    if a < 0 or b < a:
        fail(f"{readme}: no section '{FIRST}' before '{LAST}'")
    return text[a:b]


def blocks(section, lang):
    return re.findall(r"^```" + lang + r"\n(.*?)^```", section, re.S | re.M)


def commands(readme):
    out = []
    for block in blocks(cli_sections(readme), "sh"):
        pending = ""
        for line in block.splitlines():
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1] + " "
                continue
            line = pending + line
            pending = ""
            if line.strip() and not line.strip().startswith("#"):
                out.append(line.strip())
    if len(out) < 20:
        fail(f"{readme}: only {len(out)} commands in the CLI sections; the section names changed?")
    print("\n".join(out))


def text_block_after(readme, marker):
    sec = cli_sections(readme)
    i = sec.find(marker)
    if i < 0:
        fail(f"README.md: '{marker}' not found")
    m = re.search(r"^```text\n(.*?)^```", sec[i:], re.S | re.M)
    if not m:
        fail(f"README.md: no text block after '{marker}'")
    return m.group(1).splitlines()


def table_rows(lines):
    return [l for l in lines if re.match(r"\s*\d+\s", l)]


def info_table(readme, actual):
    want = table_rows(text_block_after(readme, "`build/resnetc info examples/demo/demo.yaml`:"))
    got = table_rows(open(actual).read().splitlines())
    if len(want) != len(got):
        fail(f"README's info table has {len(want)} rows, resnetc info prints {len(got)}")
    # node, op, output, params, MACs: what the model is. Weight bytes and
    # kernels follow kernel selection, which may be tuned; not compared.
    for w, g in zip(want, got):
        if w.split()[:6] != g.split()[:6]:
            fail(f"README's info table says '{' '.join(w.split()[:6])}', resnetc info '{' '.join(g.split()[:6])}'")
    for key in ("total,", "model", "input", "output", "parameters", "MACs", "weights", "binary", "arena", "kernels"):
        if not any(l.lstrip().startswith(key) for l in open(actual)):
            fail(f"resnetc info prints no '{key}' line")


def compare_rows(want, got, what, score_col):
    if len(want) != len(got):
        fail(f"README's {what} example has {len(want)} lines, the program prints {len(got)}")
    for w, g in zip(want, got):
        ws, gs = w.split(), g.split()
        if ws[:score_col] + ws[score_col + 1:] != gs[:score_col] + gs[score_col + 1:]:
            fail(f"README's {what} example says '{w}', the program '{g}'")
        if score_col < len(ws) and ws[score_col] != "score" and abs(float(ws[score_col]) - float(gs[score_col])) > 0.002:
            fail(f"README's {what} example says '{w}', the program '{g}' (score)")


def classify_table(readme, actual):
    compare_rows(text_block_after(readme, "The last command classifies"), open(actual).read().splitlines(),
                 "classify", 3)


def top_table(readme, actual):
    compare_rows(text_block_after(readme, "(`examples/classify/fashion-mnist.txt` for the demo)"),
                 open(actual).read().splitlines(), "driver --top", 3)


def check_json(path):
    j = json.load(open(path))
    need = {"resnetc_info", "model", "format", "opset", "inputs", "outputs", "nodes", "totals", "memory", "kernels",
            "passes"}
    if set(j) != need:
        fail(f"info --json keys {sorted(j)}, README documents {sorted(need)}")
    for io in j["inputs"] + j["outputs"]:
        if set(io) != {"name", "dtype", "shape"}:
            fail(f"info --json input/output keys {sorted(io)}")
    node_keys = {"name", "op", "fused", "shape", "params", "macs", "weight_bytes", "kernel", "code",
                 "out_scale", "out_zero_point", "sqnr_db"}
    for n in j["nodes"]:
        if set(n) != node_keys:
            fail(f"info --json node keys {sorted(n)}, README documents {sorted(node_keys)}")
    t, m = j["totals"], j["memory"]
    if set(t) != {"nodes", "params", "params_imported", "macs", "flops", "weight_bytes", "binary_bytes"}:
        fail(f"info --json totals keys {sorted(t)}")
    if set(m) != {"arena_bytes", "activation_bytes", "scratch_bytes", "lower_bound_bytes", "unshared_bytes"}:
        fail(f"info --json memory keys {sorted(m)}")
    if t["nodes"] != len(j["nodes"]) or t["params"] != sum(n["params"] for n in j["nodes"]) or \
            t["macs"] != sum(n["macs"] for n in j["nodes"]) or t["flops"] != 2 * t["macs"]:
        fail("info --json totals are not the sums of its nodes")
    if m["arena_bytes"] != m["activation_bytes"] + m["scratch_bytes"] or \
            not m["lower_bound_bytes"] <= m["activation_bytes"] <= m["unshared_bytes"]:
        fail(f"info --json memory does not add up: {m}")
    if sum(j["kernels"].values()) != len(j["nodes"]):
        fail("info --json kernel counts do not cover the nodes")
    for p in j["passes"]:
        if set(p) != {"name", "enabled", "nodes_before", "nodes_after", "shared_tensors_added", "removed"}:
            fail(f"info --json pass keys {sorted(p)}")
        if p["nodes_before"] - p["nodes_after"] != sum(p["removed"].values()):
            fail(f"info --json pass {p['name']}: removed counts do not match the node counts")


def read_npy_f32(path):
    data = open(path, "rb").read()
    if data[:6] != b"\x93NUMPY":
        fail(f"{path}: not a .npy file")
    hlen = struct.unpack("<H", data[8:10])[0] if data[6] == 1 else struct.unpack("<I", data[8:12])[0]
    start = (10 if data[6] == 1 else 12) + hlen
    header = data[10 if data[6] == 1 else 12:start].decode()
    if "'<f4'" not in header:
        fail(f"{path}: not float32")
    shape = tuple(int(x) for x in re.search(r"\((.*?)\)", header).group(1).replace(" ", "").split(",") if x)
    n = len(data[start:]) // 4
    return shape, struct.unpack(f"<{n}f", data[start:])


def check_top(output, logits, k):
    k = int(k)
    shape, x = read_npy_f32(logits)
    classes = shape[-1]
    rows = [l.split() for l in open(output).read().splitlines()[1:]]
    items = len(x) // classes
    if len(rows) != items * min(k, classes):
        fail(f"--top {k}: {len(rows)} rows for {items} item(s) of {classes} classes")
    for it in range(items):
        row = x[it * classes:(it + 1) * classes]
        mx = max(row)
        e = [math.exp(v - mx) for v in row]
        p = [v / sum(e) for v in e]
        order = sorted(range(classes), key=lambda c: (-p[c], c))
        mine = [r for r in rows if int(r[0]) == it]
        for rank, r in enumerate(mine):
            c, s = int(r[2]), float(r[3])
            if int(r[1]) != rank + 1 or c != order[rank] or abs(s - p[c]) > 1e-4:
                fail(f"--top row '{' '.join(r)}': expected rank {rank + 1} class {order[rank]} score {p[order[rank]]:.4f}")
        if k >= classes and abs(sum(float(r[3]) for r in mine) - 1) > 1e-3:
            fail("--top over all classes: scores do not sum to 1")


def check_options(help_file, readme, man_file):
    help_text = open(help_file).read()
    # the option lines: "  -q, --quiet   print ...", "  -O0 | -O2   ..."
    heads = [re.split(r"\s{2,}", l.strip())[0] for l in help_text.splitlines() if re.match(r"\s+-", l)]
    opts = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*|-[a-zA-Z0-9]{1,2})(?=[\s=,|]|$)", "\n".join(heads), re.M))
    if len(opts) < 20:
        fail(f"found only {len(opts)} options in --help: {sorted(opts)}")
    sec = cli_sections(readme)
    a = sec.find("### Commands and options")
    b = sec.find("\n### ", a + 1)
    if a < 0 or b < 0:
        fail("README.md: no section '### Commands and options'")
    table = "\n".join(l for l in sec[a:b].splitlines() if l.startswith("| `"))
    man = open(man_file).read()
    for o in sorted(opts):
        if o not in table:
            fail(f"'{o}' is in resnetc --help but not in README's options table")
        if o not in man:
            fail(f"'{o}' is in resnetc --help but not in the man page")
    for o in set(re.findall(r"`(--?[a-zA-Z][\w-]*)", table)):
        if o not in help_text:
            fail(f"'{o}' is in README's options table but not in resnetc --help")


def svg_facts(path):
    s = open(path, encoding="utf-8").read()
    names = re.findall(r'<text[^>]*font-weight="bold"[^>]*>([^<]*)</text>', s)
    return sorted(names), s.count('class="edge"')


def check_svg(committed, fresh):
    names, edges = svg_facts(committed)
    if not names:
        fail(f"{committed}: no node names found")
    if fresh == "-":
        return
    fnames, fedges = svg_facts(fresh)
    if (names, edges) != (fnames, fedges):
        fail(f"{committed} is out of date ({len(names)} names, {edges} edges; now {len(fnames)}, {fedges}): "
             "build/resnetc graph examples/demo/demo.yaml -o examples/demo/graph.svg")


def check_dot(dot, info_json):
    d = open(dot, encoding="utf-8").read()
    if not d.startswith("digraph"):
        fail(f"{dot}: not a DOT digraph")
    boxes = re.findall(r"^  n\d+ \[label=<<b>(.*?)</b>", d, re.M)
    nodes = [n["name"] for n in json.load(open(info_json))["nodes"]]
    if sorted(boxes) != sorted(nodes):
        fail(f"{dot}: boxes {len(boxes)} do not match info's {len(nodes)} nodes")
    if d.count(" -> ") < len(nodes):
        fail(f"{dot}: fewer edges than nodes")


def images_npy(folder, cal, first):
    import glob
    import numpy as np
    images = []
    for path in sorted(glob.glob(folder + "/*.pgm")):
        data = open(path, "rb").read()
        if not data.startswith(b"P5") or len(data) < 28 * 28:
            fail(f"{path}: not a binary PGM")
        pixels = np.frombuffer(data[-28 * 28:], dtype=np.uint8).reshape(28, 28)
        images.append((pixels / 255.0 - 0.2860) / 0.3530)
    if not images:
        fail(f"{folder}: no .pgm images")
    x = np.stack(images)[:, None].astype(np.float32)
    np.save(cal, x)
    np.save(first, x[:1])


def check_qdq(path, float_path):
    import collections
    import onnx
    m = onnx.load(path)
    try:
        onnx.checker.check_model(m, full_check=True)
    except Exception as e:  # the checker's own exception types vary by version
        fail(f"{path}: onnx.checker: {str(e).splitlines()[0]}")
    f = onnx.load(float_path)
    g = m.graph
    ops = collections.Counter(n.op_type for n in g.node)
    if m.ir_version != 8:
        fail(f"{path}: ir_version {m.ir_version}, expected 8")
    opsets = {o.domain: o.version for o in m.opset_import}
    if list(opsets) != [""] or opsets[""] < 13:
        fail(f"{path}: opset imports {opsets}, expected the default domain at 13 or later")
    if not ops["QuantizeLinear"] or not ops["DequantizeLinear"]:
        fail(f"{path}: no QuantizeLinear/DequantizeLinear pairs ({dict(ops)})")
    types = collections.Counter(onnx.TensorProto.DataType.Name(t.data_type) for t in g.initializer)
    convs = ops["Conv"] + ops["Gemm"]
    if types["INT8"] < convs or types["INT32"] < convs:
        fail(f"{path}: initializers {dict(types)}: expected int8 weights and int32 biases for {convs} Conv/Gemm")
    if any(t.data_type == onnx.TensorProto.FLOAT and len(t.dims) == 4 for t in g.initializer):
        fail(f"{path}: a float convolution weight is left among the initializers")
    def io(vs):
        return [(v.name, v.type.tensor_type.elem_type, [d.dim_value for d in v.type.tensor_type.shape.dim])
                for v in vs]
    inits = {t.name for t in f.graph.initializer}
    if io(g.input) != io(v for v in f.graph.input if v.name not in inits) or io(g.output) != io(f.graph.output):
        fail(f"{path}: inputs/outputs {io(g.input)} {io(g.output)} are not the float model's")
    names = [t.name for t in g.initializer] + [o for n in g.node for o in n.output if o]
    if len(names) != len(set(names)) or len({n.name for n in g.node}) != len(g.node):
        fail(f"{path}: a tensor or node name is used twice")


def qavgpool_model(path, inp):
    """A QOperator model of onnxruntime's com.microsoft QLinearAveragePool
    (3x3, stride 2, padded, pads not counted) between a QuantizeLinear and
    a DequantizeLinear, and a random input for it."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper
    c = lambda n, v, t: helper.make_tensor(n, t, [], [v])
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
        helper.make_node("QLinearAveragePool", ["xq", "xs", "xz", "ys", "yz"], ["yq"], domain="com.microsoft",
                         kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=0),
        helper.make_node("DequantizeLinear", ["yq", "ys", "yz"], ["y"]),
    ]
    g = helper.make_graph(nodes, "qavgpool", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 9, 9])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 5, 5])],
                          [c("xs", 0.02, TensorProto.FLOAT), c("xz", 120, TensorProto.UINT8),
                           c("ys", 0.013, TensorProto.FLOAT), c("yz", 90, TensorProto.UINT8)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.microsoft", 1)])
    onnx.save(m, path)
    np.save(inp, np.random.RandomState(5).uniform(-2.2, 2.6, (1, 4, 9, 9)).astype(np.float32))


def main():
    cmds = {"commands": commands, "info-table": info_table, "classify-table": classify_table,
            "top-table": top_table, "json": check_json, "top": check_top, "options": check_options,
            "svg": check_svg, "dot": check_dot, "images-npy": images_npy, "qdq": check_qdq,
            "qavgpool-model": qavgpool_model}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        print(__doc__)
        sys.exit(2)
    cmds[sys.argv[1]](*sys.argv[2:])


if __name__ == "__main__":
    main()
