"""MLIR text of a Llama-style decoder (prefill and decode functions).

The tensor form is written directly: linalg on tensors, caches written with
tensor.insert_slice. The memref form is that module bufferized by
`chunkkv-opt -chunkkv-decompose-aggregates -one-shot-bufferize` (caches
written with memref.subview + memref.copy; linalg.softmax, which has no
memref form, decomposed first), so it needs a built chunkkv-opt.
"""

from __future__ import annotations

import math
import os
import subprocess
from typing import List, Sequence

from .config import ModelConfig

F32 = "f32"


def tensor_type(shape: Sequence[int], element: str = F32) -> str:
    return "tensor<" + "".join(f"{d}x" for d in shape) + element + ">"


def dims(names: str) -> str:
    return ", ".join(names)


class FunctionEmitter:
    """Writes the body of one function: SSA names, ops, indentation."""

    def __init__(self, config: ModelConfig, position: str):
        self.config = config
        self.position = position  # an index SSA value or "0"
        self.lines: List[str] = []
        self.counter = 0
        self.indent = "  "

    def fresh(self, hint: str) -> str:
        self.counter += 1
        return f"%{hint}{self.counter}"

    def emit(self, line: str) -> None:
        self.lines.append(self.indent + line)

    # Constants and initial values ----------------------------------------

    def constant(self, value, type_: str) -> str:
        name = self.fresh("c")
        if type_ == "index":
            self.emit(f"{name} = arith.constant {value} : index")
        else:
            literal = (f"{float(value):.9e}" if math.isfinite(value)
                       else "0xFF800000" if value < 0 else "0x7F800000")
            self.emit(f"{name} = arith.constant {literal} : {type_}")
        return name

    def empty(self, shape) -> str:
        name = self.fresh("empty")
        self.emit(f"{name} = tensor.empty() : {tensor_type(shape)}")
        return name

    def filled(self, shape, value: float) -> str:
        scalar = self.constant(value, F32)
        name = self.fresh("init")
        self.emit(f"{name} = linalg.fill ins({scalar} : f32) outs({self.empty(shape)} : "
                  f"{tensor_type(shape)}) -> {tensor_type(shape)}")
        return name

    # Shape ops -------------------------------------------------------------

    def collapse(self, value, in_shape, groups) -> tuple:
        out_shape = [math.prod(in_shape[i] for i in g) for g in groups]
        name = self.fresh("collapsed")
        self.emit(f"{name} = tensor.collapse_shape {value} {groups} : "
                  f"{tensor_type(in_shape)} into {tensor_type(out_shape)}")
        return name, out_shape

    def expand(self, value, in_shape, groups, out_shape) -> str:
        name = self.fresh("expanded")
        self.emit(f"{name} = tensor.expand_shape {value} {groups} output_shape "
                  f"{list(out_shape)} : {tensor_type(in_shape)} into {tensor_type(out_shape)}")
        return name

    def transpose(self, value, in_shape, perm) -> tuple:
        out_shape = [in_shape[p] for p in perm]
        name = self.fresh("transposed")
        self.emit(f"{name} = linalg.transpose ins({value} : {tensor_type(in_shape)}) "
                  f"outs({self.empty(out_shape)} : {tensor_type(out_shape)}) "
                  f"permutation = {list(perm)}")
        return name, out_shape

    def generic(self, inputs, out_shape, loops: str, out_map: str, iterators, body,
                init=None) -> str:
        """linalg.generic over loop dims `loops` (one letter each). `inputs`:
        (value, shape, map results); `body(args, out)` returns the yielded
        value, writing ops with `self.emit`."""
        init = init if init is not None else self.empty(out_shape)
        maps = ", ".join(f"affine_map<({dims(loops)}) -> ({m})>"
                         for m in [i[2] for i in inputs] + [out_map])
        kinds = ", ".join(f'"{k}"' for k in iterators)
        ins = ", ".join(i[0] for i in inputs)
        types = ", ".join(tensor_type(i[1]) for i in inputs)
        name = self.fresh("generic")
        self.emit(f"{name} = linalg.generic {{indexing_maps = [{maps}], iterator_types = [{kinds}]}} "
                  f"ins({ins} : {types}) outs({init} : {tensor_type(out_shape)}) {{")
        args = [self.fresh("in") for _ in inputs]
        out = self.fresh("out")
        self.emit(f"^bb0({', '.join(f'{a}: f32' for a in args + [out])}):")
        self.indent += "  "
        result = body(args, out)
        self.emit(f"linalg.yield {result} : f32")
        self.indent = self.indent[:-2]
        self.emit(f"}} -> {tensor_type(out_shape)}")
        return name

    def op(self, text: str, hint: str = "v") -> str:
        name = self.fresh(hint)
        self.emit(f"{name} = {text}")
        return name

    def token_position(self, loop_dim: int) -> str:
        """Inside a generic: position + the index of loop `loop_dim`."""
        offset = self.op(f"linalg.index {loop_dim} : index")
        if self.position == "0":
            return offset
        return self.op(f"arith.addi {self.position}, {offset} : index")

    # Layers ----------------------------------------------------------------

    def matmul(self, x, x_shape, weight, out_features) -> tuple:
        """x [..., K] @ weight [K, N] through a 2-D linalg.matmul."""
        rows = math.prod(x_shape[:-1])
        groups = [list(range(len(x_shape) - 1)), [len(x_shape) - 1]]
        flat, flat_shape = self.collapse(x, x_shape, groups)
        k = x_shape[-1]
        product = self.fresh("matmul")
        init = self.filled([rows, out_features], 0.0)
        self.emit(f"{product} = linalg.matmul ins({flat}, {weight} : {tensor_type(flat_shape)}, "
                  f"{tensor_type([k, out_features])}) outs({init} : "
                  f"{tensor_type([rows, out_features])}) -> {tensor_type([rows, out_features])}")
        out_shape = list(x_shape[:-1]) + [out_features]
        return self.expand(product, [rows, out_features], groups, out_shape), out_shape

    def rms_norm(self, x, shape, weight) -> str:
        c = self.config
        sums = self.generic([(x, shape, "b, t, e")], shape[:2], "bte", "b, t",
                            ["parallel", "parallel", "reduction"],
                            lambda a, o: self.op(f"arith.addf {self.op(f'arith.mulf {a[0]}, {a[0]} : f32')}, {o} : f32"),
                            init=self.filled(shape[:2], 0.0))
        inv_e = self.constant(1.0 / shape[2], F32)
        eps = self.constant(c.eps, F32)

        def body(a, o):
            mean = self.op(f"arith.mulf {a[1]}, {inv_e} : f32")
            rs = self.op(f"math.rsqrt {self.op(f'arith.addf {mean}, {eps} : f32')} : f32")
            return self.op(f"arith.mulf {self.op(f'arith.mulf {a[0]}, {rs} : f32')}, {a[2]} : f32")

        return self.generic([(x, shape, "b, t, e"), (sums, shape[:2], "b, t"),
                             (weight, [shape[2]], "e")], shape, "bte", "b, t, e",
                            ["parallel"] * 3, body)

    def rope(self, x, shape) -> str:
        """Rotate-half RoPE of x [B, T, H, D] at positions position + t."""
        D = shape[3]
        half = D // 2
        log_theta = self.constant(math.log(self.config.rope_theta), F32)
        minus_two_over_d = self.constant(-2.0 / D, F32)
        c_half = self.constant(half, "index")

        def body(a, o):
            pos = self.token_position(1)
            d = self.op("linalg.index 3 : index")
            pos_f = self.op(f"arith.uitofp {self.op(f'arith.index_cast {pos} : index to i64')} : i64 to f32")
            i = self.op(f"arith.remui {d}, {c_half} : index")
            i_f = self.op(f"arith.uitofp {self.op(f'arith.index_cast {i} : index to i64')} : i64 to f32")
            exponent = self.op(f"arith.mulf {self.op(f'arith.mulf {i_f}, {minus_two_over_d} : f32')}, {log_theta} : f32")
            angle = self.op(f"arith.mulf {pos_f}, {self.op(f'math.exp {exponent} : f32')} : f32")
            first_half = self.op(f"arith.cmpi ult, {d}, {c_half} : index")
            rotated = self.op(f"arith.select {first_half}, {self.op(f'arith.negf {a[1]} : f32')}, {a[1]} : f32")
            cos = self.op(f"math.cos {angle} : f32")
            sin = self.op(f"math.sin {angle} : f32")
            return self.op(f"arith.addf {self.op(f'arith.mulf {a[0]}, {cos} : f32')}, "
                           f"{self.op(f'arith.mulf {rotated}, {sin} : f32')} : f32")

        return self.generic([(x, shape, "b, t, h, d"),
                             (x, shape, f"b, t, h, (d + {half}) mod {D}")],
                            shape, "bthd", "b, t, h, d", ["parallel"] * 4, body)

    def write_cache(self, cache, new, new_shape) -> str:
        """insert_slice of new [B, T, Hkv, D] (bshd) or its transpose (bhsd)."""
        c = self.config
        if c.layout == "bhsd":
            new, new_shape = self.transpose(new, new_shape, [0, 2, 1, 3])
            offsets = f"[0, 0, {self.position}, 0]"
        else:
            offsets = f"[0, {self.position}, 0, 0]"
        name = self.fresh("written")
        self.emit(f"{name} = tensor.insert_slice {new} into {cache}{offsets} "
                  f"{list(new_shape)} [1, 1, 1, 1] : {tensor_type(new_shape)} into "
                  f"{tensor_type(c.cache_shape())}")
        return name

    def broadcast_heads(self, cache) -> tuple:
        """[B, Hq, S, D] from the cache, query head h reading kv head h / G."""
        c = self.config
        shape = [c.batch, c.q_heads, c.capacity, c.head_dim]
        source = (f"b, h floordiv {c.group}, s, d" if c.layout == "bhsd"
                  else f"b, s, h floordiv {c.group}, d")
        return self.generic([(cache, list(c.cache_shape()), source)], shape, "bhsd",
                            "b, h, s, d", ["parallel"] * 4, lambda a, o: a[0]), shape

    def contraction(self, lhs, lhs_shape, rhs, rhs_shape, transpose_rhs) -> tuple:
        """[B, H, M, K] x [B, H, N, K] (transpose_rhs) or [B, H, K, N] -> [B, H, M, N]."""
        c = self.config
        B, H, M = lhs_shape[:3]
        N = rhs_shape[2] if transpose_rhs else rhs_shape[3]
        out_shape = [B, H, M, N]
        init = self.filled(out_shape, 0.0)
        if c.qk == "generic":
            rhs_map = "b, h, n, k" if transpose_rhs else "b, h, k, n"
            return self.generic([(lhs, lhs_shape, "b, h, m, k"), (rhs, rhs_shape, rhs_map)],
                                out_shape, "bhmnk", "b, h, m, n",
                                ["parallel"] * 4 + ["reduction"],
                                lambda a, o: self.op(f"arith.addf {o}, {self.op(f'arith.mulf {a[0]}, {a[1]} : f32')} : f32"),
                                init=init), out_shape
        groups = [[0, 1], [2], [3]]
        flat_lhs, flat_lhs_shape = self.collapse(lhs, lhs_shape, groups)
        flat_rhs, flat_rhs_shape = self.collapse(rhs, rhs_shape, groups)
        flat_init, flat_out_shape = self.collapse(init, out_shape, groups)
        rhs_map = "b, n, k" if transpose_rhs else "b, k, n"
        maps = (f"indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, "
                f"affine_map<(b, m, n, k) -> ({rhs_map})>, "
                f"affine_map<(b, m, n, k) -> (b, m, n)>] ")
        product = self.fresh("bmm")
        self.emit(f"{product} = linalg.batch_matmul {maps}ins({flat_lhs}, {flat_rhs} : "
                  f"{tensor_type(flat_lhs_shape)}, {tensor_type(flat_rhs_shape)}) "
                  f"outs({flat_init} : {tensor_type(flat_out_shape)}) -> {tensor_type(flat_out_shape)}")
        return self.expand(product, flat_out_shape, groups, out_shape), out_shape

    def mask_and_scale(self, scores, shape) -> str:
        scale = self.constant(1.0 / math.sqrt(self.config.head_dim), F32)
        neg_inf = self.constant(-math.inf, F32)

        def body(a, o):
            query_pos = self.token_position(2)
            j = self.op("linalg.index 3 : index")
            visible = self.op(f"arith.cmpi ule, {j}, {query_pos} : index")
            return self.op(f"arith.select {visible}, {self.op(f'arith.mulf {a[0]}, {scale} : f32')}, {neg_inf} : f32")

        return self.generic([(scores, shape, "b, h, i, j")], shape, "bhij", "b, h, i, j",
                            ["parallel"] * 4, body)

    def softmax(self, x, shape) -> str:
        if self.config.softmax == "linalg":
            return self.op(f"linalg.softmax dimension(3) ins({x} : {tensor_type(shape)}) "
                           f"outs({self.empty(shape)} : {tensor_type(shape)}) -> {tensor_type(shape)}",
                           "softmax")
        rows = shape[:3]
        row_max = self.generic([(x, shape, "b, h, i, j")], rows, "bhij", "b, h, i",
                               ["parallel"] * 3 + ["reduction"],
                               lambda a, o: self.op(f"arith.maximumf {a[0]}, {o} : f32"),
                               init=self.filled(rows, -math.inf))
        exps = self.generic([(x, shape, "b, h, i, j"), (row_max, rows, "b, h, i")], shape,
                            "bhij", "b, h, i, j", ["parallel"] * 4,
                            lambda a, o: self.op(f"math.exp {self.op(f'arith.subf {a[0]}, {a[1]} : f32')} : f32"))
        sums = self.generic([(exps, shape, "b, h, i, j")], rows, "bhij", "b, h, i",
                            ["parallel"] * 3 + ["reduction"],
                            lambda a, o: self.op(f"arith.addf {a[0]}, {o} : f32"),
                            init=self.filled(rows, 0.0))
        return self.generic([(exps, shape, "b, h, i, j"), (sums, rows, "b, h, i")], shape,
                            "bhij", "b, h, i, j", ["parallel"] * 4,
                            lambda a, o: self.op(f"arith.divf {a[0]}, {a[1]} : f32"))

    def add(self, a, b, shape) -> str:
        return self.generic([(a, shape, "b, t, e"), (b, shape, "b, t, e")], shape, "bte",
                            "b, t, e", ["parallel"] * 3,
                            lambda x, o: self.op(f"arith.addf {x[0]}, {x[1]} : f32"))

    def layer(self, x, x_shape, weights, k_cache, v_cache):
        """One decoder layer; returns (x', k cache', v cache')."""
        c = self.config
        B, T, E = x_shape
        h = self.rms_norm(x, x_shape, weights["attn_norm"])
        q, q_shape = self.matmul(h, x_shape, weights["wq"], c.q_heads * c.head_dim)
        q = self.expand(q, q_shape, [[0], [1], [2, 3]], [B, T, c.q_heads, c.head_dim])
        k, k_shape = self.matmul(h, x_shape, weights["wk"], c.kv_heads * c.head_dim)
        k = self.expand(k, k_shape, [[0], [1], [2, 3]], [B, T, c.kv_heads, c.head_dim])
        v, v_shape = self.matmul(h, x_shape, weights["wv"], c.kv_heads * c.head_dim)
        v = self.expand(v, v_shape, [[0], [1], [2, 3]], [B, T, c.kv_heads, c.head_dim])
        q = self.rope(q, [B, T, c.q_heads, c.head_dim])
        k = self.rope(k, [B, T, c.kv_heads, c.head_dim])
        k_cache = self.write_cache(k_cache, k, [B, T, c.kv_heads, c.head_dim])
        v_cache = self.write_cache(v_cache, v, [B, T, c.kv_heads, c.head_dim])
        keys, keys_shape = self.broadcast_heads(k_cache)
        values, values_shape = self.broadcast_heads(v_cache)
        qh, qh_shape = self.transpose(q, [B, T, c.q_heads, c.head_dim], [0, 2, 1, 3])
        scores, scores_shape = self.contraction(qh, qh_shape, keys, keys_shape, True)
        probs = self.softmax(self.mask_and_scale(scores, scores_shape), scores_shape)
        attn, attn_shape = self.contraction(probs, scores_shape, values, values_shape, False)
        attn, attn_shape = self.transpose(attn, attn_shape, [0, 2, 1, 3])
        attn, flat_shape = self.collapse(attn, attn_shape, [[0], [1], [2, 3]])
        out, _ = self.matmul(attn, flat_shape, weights["wo"], E)
        x = self.add(x, out, x_shape)
        h = self.rms_norm(x, x_shape, weights["mlp_norm"])
        gate, gate_shape = self.matmul(h, x_shape, weights["w_gate"], c.mlp)
        up, _ = self.matmul(h, x_shape, weights["w_up"], c.mlp)

        def swiglu(a, o):
            one = self.constant(1.0, F32)
            exp = self.op(f"math.exp {self.op(f'arith.negf {a[0]} : f32')} : f32")
            sig = self.op(f"arith.divf {one}, {self.op(f'arith.addf {one}, {exp} : f32')} : f32")
            return self.op(f"arith.mulf {self.op(f'arith.mulf {a[0]}, {sig} : f32')}, {a[1]} : f32")

        act = self.generic([(gate, gate_shape, "b, t, f"), (up, gate_shape, "b, t, f")],
                           gate_shape, "btf", "b, t, f", ["parallel"] * 3, swiglu)
        down, _ = self.matmul(act, gate_shape, weights["w_down"], E)
        return self.add(x, down, x_shape), k_cache, v_cache


def _function(config: ModelConfig, decode: bool) -> List[str]:
    c = config
    T = 1 if decode else c.prompt
    x_shape = [c.batch, T, c.hidden]
    params = [f"%hidden: {tensor_type(x_shape)}"]
    if decode:
        params.append("%position: index")
    weight_names = [n for n, _ in c.weight_shapes()]
    cache_type = tensor_type(c.cache_shape(stacked=c.layer_loop))
    if c.layer_loop:
        params += [f"%k_cache: {cache_type}", f"%v_cache: {cache_type}"]
        params += [f"%{n}: {tensor_type((c.layers,) + s)}" for n, s in c.weight_shapes()]
        results = [tensor_type(x_shape), cache_type, cache_type]
    else:
        for layer in range(c.layers):
            params += [f"%k_cache_{layer}: {cache_type}", f"%v_cache_{layer}: {cache_type}"]
        for layer in range(c.layers):
            params += [f"%{n}_{layer}: {tensor_type(s)}" for n, s in c.weight_shapes()]
        results = [tensor_type(x_shape)] + [cache_type] * (2 * c.layers)
    name = "decode" if decode else "prefill"
    header = [f"func.func @{name}({', '.join(params)})",
              f"    -> ({', '.join(results)}) {{"]
    body = FunctionEmitter(c, "%position" if decode else "0")
    if not c.layer_loop:
        x, caches = "%hidden", []
        for layer in range(c.layers):
            weights = {n: f"%{n}_{layer}" for n in weight_names}
            x, k, v = body.layer(x, x_shape, weights, f"%k_cache_{layer}", f"%v_cache_{layer}")
            caches += [k, v]
        body.emit(f"return {', '.join([x] + caches)} : {', '.join(results)}")
        return header + body.lines + ["}"]

    zero, one = body.constant(0, "index"), body.constant(1, "index")
    count = body.constant(c.layers, "index")
    loop = body.fresh("layers")
    body.emit(f"{loop}:3 = scf.for %layer = {zero} to {count} step {one} "
              f"iter_args(%x = %hidden, %k_all = %k_cache, %v_all = %v_cache) -> "
              f"({', '.join(results)}) {{")
    body.indent += "  "
    weights = {}
    for n, s in c.weight_shapes():
        offsets = ", ".join(["%layer"] + ["0"] * len(s))
        sizes = ", ".join(str(d) for d in (1,) + s)
        strides = ", ".join(["1"] * (len(s) + 1))
        weights[n] = body.op(f"tensor.extract_slice %{n}[{offsets}] [{sizes}] [{strides}] : "
                             f"{tensor_type((c.layers,) + s)} to {tensor_type(s)}", n)
    layer_shape = c.cache_shape()
    offsets = ", ".join(["%layer"] + ["0"] * 4)
    sizes = ", ".join(str(d) for d in (1,) + layer_shape)
    layer_caches = [body.op(f"tensor.extract_slice {stack}[{offsets}] [{sizes}] [1, 1, 1, 1, 1] : "
                            f"{cache_type} to {tensor_type(layer_shape)}", "cache")
                    for stack in ("%k_all", "%v_all")]
    x, k, v = body.layer("%x", x_shape, weights, *layer_caches)
    stacks = [body.op(f"tensor.insert_slice {new} into {stack}[{offsets}] [{sizes}] [1, 1, 1, 1, 1] : "
                      f"{tensor_type(layer_shape)} into {cache_type}", "stack")
              for new, stack in ((k, "%k_all"), (v, "%v_all"))]
    body.emit(f"scf.yield {x}, {stacks[0]}, {stacks[1]} : {', '.join(results)}")
    body.indent = body.indent[:-2]
    body.emit("}")
    body.emit(f"return {loop}#0, {loop}#1, {loop}#2 : {', '.join(results)}")
    return header + body.lines + ["}"]


def tensor_module(config: ModelConfig) -> str:
    c = config
    title = (f"// Llama-style decoder: L={c.layers} E={c.hidden} Hq={c.q_heads} "
             f"Hkv={c.kv_heads} D={c.head_dim} S={c.capacity} B={c.batch} T={c.prompt} "
             f"F={c.mlp}; form={c.form} layer_loop={c.layer_loop} layout={c.layout} "
             f"qk={c.qk} softmax={c.softmax}\n")
    return title + "\n".join(_function(c, False) + [""] + _function(c, True)) + "\n"


def find_tool(name: str) -> str:
    build = os.environ.get("CHUNKKV_BUILD_DIR",
                           os.path.join(os.path.dirname(__file__), "..", "..", "..", "build"))
    path = os.path.join(build, "bin", name)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} is not built (set CHUNKKV_BUILD_DIR)")
    return path


def module_text(config: ModelConfig) -> str:
    """The module in the configured form."""
    text = tensor_module(config)
    if config.form == "tensor":
        return text
    result = subprocess.run(
        [find_tool("chunkkv-opt"),
         # linalg.softmax has no memref form to lower: decompose it first.
         "-chunkkv-decompose-aggregates",
         "-one-shot-bufferize=bufferize-function-boundaries "
         "function-boundary-type-conversion=identity-layout-map "
         "allow-return-allocs-from-loops",
         "-canonicalize", "-cse"],
        input=text, capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"bufferizing the model failed:\n{result.stderr}")
    return text.splitlines()[0] + "\n" + result.stdout
