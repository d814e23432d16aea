"""A functional PTX emulator for chunkkv's kernels, on the CPU.

Runs the PTX that chunkkv-gpu-pipeline emits (format=isa) so that the GPU
integration tests run where no GPU is: the kernels execute instruction by
instruction with the thread, warp and block semantics the code relies on
(per-thread registers and predicates, divergent branches, bar.sync, the
warp-wide shfl/match/mma.sync collectives, shared and global memory,
atomics, cp.async copies and their groups). Every global access is checked against the live allocations and
every shared access against its variable, like compute-sanitizer's memcheck,
and shared memory for races, like its racecheck (Launch.check_race).

It models results, not timing: floating-point operations round like the
hardware's (f32 arithmetic in float32, f16/bf16 conversions to nearest
even); ex2.approx is exact here, within the hardware's 2 ulp.

Execution: all threads of a batch of blocks are lanes of NumPy arrays. Each
step runs, for the lanes that are there, the instruction that comes first in
the reverse post-order of the control-flow graph among the runnable lanes'
instructions, so lanes that diverge run one side after the other and meet
again where the paths join (where a GPU reconverges them). A lane at
bar.sync or at a warp collective waits until no lane can run; a collective
then checks that the lanes of its mask arrived together.

The fake driver (FakeCudaDriver.cpp, built as lib/emulator/libcuda.so.1)
forwards allocation, module loading and launches here; `install()` loads it
before anything opens libcuda.so.1, so chunkkv's CUDA runtime library runs
its kernels on this emulator.
"""

import collections
import ctypes
import os
import re
import time
import traceback

import numpy as np

M32 = np.uint64(0xFFFFFFFF)

# cp.async copies of one instruction not yet in shared memory: per lane,
# its group number, target offset (into Launch.shared), bytes, and the round
# trip they arrive at.
AsyncCopies = collections.namedtuple("AsyncCopies", "lanes group offsets data ready")

# Numpy dtypes of PTX types as stored in registers (bit patterns in uint64).
_INT_TYPES = {
    "u8": np.uint8, "s8": np.int8, "b8": np.uint8,
    "u16": np.uint16, "s16": np.int16, "b16": np.uint16,
    "u32": np.uint32, "s32": np.int32, "b32": np.uint32,
    "u64": np.uint64, "s64": np.int64, "b64": np.uint64,
}
_FLOAT_TYPES = {"f16": np.float16, "f32": np.float32, "f64": np.float64}
_WIDTH = {"8": 1, "16": 2, "32": 4, "64": 8}
# Instruction modifiers the emulator gives their meaning (or that have none
# for it: cache hints, .sync, .aligned), and those only some instructions
# have. An instruction with any other is unsupported rather than run as if
# the modifier were absent.
_KNOWN_MODIFIERS = set(_INT_TYPES) | set(_FLOAT_TYPES) | {
    "bf16", "tf32", "pred",
    "rn", "ftz", "approx", "lo", "hi", "wide",
    "global", "shared", "local", "param", "to", "v2", "v4",
    "uni", "sync", "warp", "aligned",
}
_OP_MODIFIERS = {
    "min": {"NaN", "relu"},
    "max": {"NaN", "relu"},
    "atom": {"add", "max", "min", "exch", "or", "and"},
    "shfl": {"up", "down", "bfly", "idx"},
    "match": {"any"},
    "setp": {"eq", "ne", "lt", "le", "gt", "ge", "nan", "and", "or", "xor"},
    "cvt": {"rzi", "rmi", "rni", "rpi", "sat", "f16x2", "bf16x2"},
    "mma": {"m16n8k16", "m16n8k8", "row", "col"},
    "fence": {"proxy", "async", "shared::cta"},
    "wgmma": {"fence", "commit_group", "wait_group", "mma_async"} | {
        f"m64n{n}k16" for n in range(8, 257, 8)},
    "cp": {"async", "ca", "cg", "commit_group", "wait_group", "wait_all"},
    "griddepcontrol": {"wait", "launch_dependents"},
}


class EmulationError(RuntimeError):
    """A kernel did something a GPU would fault on or the emulator lacks."""


def type_bytes(ptx_type):
    if ptx_type == "pred":
        return 1
    return _WIDTH[re.sub(r"^[a-z]+", "", ptx_type)]


def unsigned_of(ptx_type):
    return {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}[type_bytes(ptx_type)]


def from_bits(bits, ptx_type):
    """uint64 register bits -> values of `ptx_type`."""
    if ptx_type == "pred":
        return bits.astype(bool)
    if ptx_type == "bf16":
        return bits.astype(np.uint16)
    narrow = bits.astype(unsigned_of(ptx_type))
    if ptx_type in _FLOAT_TYPES:
        return narrow.view(_FLOAT_TYPES[ptx_type])
    return narrow.view(_INT_TYPES[ptx_type])


def to_bits(values, ptx_type):
    """Values of `ptx_type` -> uint64 register bits (zero-extended)."""
    if ptx_type == "pred":
        return np.asarray(values).astype(np.uint64)
    if ptx_type == "bf16":
        return np.asarray(values).astype(np.uint16).astype(np.uint64)
    kind = _FLOAT_TYPES.get(ptx_type, _INT_TYPES.get(ptx_type))
    narrow = np.asarray(values).astype(kind, copy=False)
    return narrow.view(unsigned_of(ptx_type)).astype(np.uint64)


def flush_denormals(values):
    """What .ftz does to f32 operands and results: subnormals become zeros
    of the same sign."""
    tiny = np.finfo(np.float32).tiny
    return np.where(np.abs(values) < tiny, np.copysign(np.float32(0), values), values).astype(values.dtype)


def f32_to_bf16_bits(values):
    bits = np.asarray(values, np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    nan = np.isnan(np.asarray(values, np.float32))
    return np.where(nan, 0x7FC0, rounded).astype(np.uint16)


def bf16_bits_to_f32(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


def mulhi_u64(a, b):
    a0, a1 = a & M32, a >> np.uint64(32)
    b0, b1 = b & M32, b >> np.uint64(32)
    p00, p01, p10, p11 = a0 * b0, a0 * b1, a1 * b0, a1 * b1
    mid = (p00 >> np.uint64(32)) + (p01 & M32) + (p10 & M32)
    return p11 + (p01 >> np.uint64(32)) + (p10 >> np.uint64(32)) + (mid >> np.uint64(32))


# ----------------------------------------------------------------------------
# Parsing
# ----------------------------------------------------------------------------


class Operand:
    """reg / imm / sym / addr / vec / pair (d|p) operands."""

    def __init__(self, kind, value, offset=0, negate=False):
        self.kind, self.value, self.offset, self.negate = kind, value, offset, negate

    def __repr__(self):
        return f"{self.kind}:{self.value}"


def parse_operand(text):
    text = text.strip()
    if text.startswith("{"):
        return Operand("vec", [parse_operand(t) for t in text[1:-1].split(",")])
    if text.startswith("["):
        inner = text[1:-1].replace(" ", "")
        match = re.fullmatch(r"([^+]+?)(?:\+(-?\w+))?", inner)
        base, offset = match.group(1), int(match.group(2), 0) if match.group(2) else 0
        return Operand("addr", parse_operand(base), offset)
    if "|" in text:
        return Operand("pair", [parse_operand(t) for t in text.split("|")])
    negate = text.startswith("!")
    if negate:
        text = text[1:]
    if text.startswith("%"):
        return Operand("reg", text, negate=negate)
    if re.fullmatch(r"0[fF][0-9a-fA-F]{8}", text):
        return Operand("imm", np.array(int(text[2:], 16), np.uint32).view(np.float32)[()])
    if re.fullmatch(r"0[dD][0-9a-fA-F]{16}", text):
        return Operand("imm", np.array(int(text[2:], 16), np.uint64).view(np.float64)[()])
    if re.fullmatch(r"-?(0[xX][0-9a-fA-F]+|\d+)U?", text):
        return Operand("imm", int(text.rstrip("U"), 0))
    return Operand("sym", text)


def split_operands(text):
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    if current.strip():
        parts.append(current)
    return [parse_operand(p) for p in parts]


class Instruction:
    def __init__(self, guard, opcode, operands, line, text):
        self.guard, self.opcode, self.operands, self.line = guard, opcode, operands, line
        self.text = text
        self.parts = opcode.split(".")

    def __repr__(self):
        return f"{self.opcode} {self.operands} (line {self.line})"


# Instructions without a destination operand: every operand is read.
_NO_DESTINATION = {"st", "red", "bar", "barrier", "bra", "ret", "exit", "membar",
                   "fence", "prefetch", "cp"}


def operand_registers(op):
    """The register names an operand names (addresses and vectors included)."""
    if op.kind == "reg":
        return [op.value]
    if op.kind in ("vec", "pair"):
        return [r for o in op.value for r in operand_registers(o)]
    if op.kind == "addr":
        return operand_registers(op.value)
    return []


def source_registers(instr):
    """The registers an instruction reads: its guard and its source operands."""
    operands = instr.operands if instr.parts[0] in _NO_DESTINATION else instr.operands[1:]
    names = {r for op in operands for r in operand_registers(op)}
    if instr.guard is not None:
        names.add(instr.guard.value)
    return sorted(names)


def destination_registers(instr):
    """The registers an instruction writes."""
    if instr.parts[0] in _NO_DESTINATION or not instr.operands:
        return []
    return operand_registers(instr.operands[0])


def loads_global(instr):
    """Whether an instruction's result comes from global memory."""
    return instr.parts[0] in ("ld", "atom") and "global" in instr.parts


def copies_async(instr):
    """Whether an instruction is a cp.async copy from global memory."""
    return instr.parts[:2] == ["cp", "async"] and "global" in instr.parts


class Kernel:
    def __init__(self, name, params, shared, code, labels, dynamic_shared=()):
        self.name, self.params, self.code, self.labels = name, params, code, labels
        # Shared variables laid out from SHARED_BASE in declaration order.
        self.static_shared = {}
        offset = 0
        for var, align, size in shared:
            offset = (offset + align - 1) // align * align
            self.static_shared[var] = (offset, size)
            offset += size
        self.static_bytes = offset
        # The module's `.extern .shared` arrays, (name, alignment): all
        # start where the static variables end, as on a GPU.
        self.dynamic_shared = list(dynamic_shared)
        self.set_dynamic_shared(0)

    def set_dynamic_shared(self, size):
        """Gives the dynamic shared memory `size` bytes (a launch's)."""
        self.shared = dict(self.static_shared)
        end = self.static_bytes
        for var, align in self.dynamic_shared:
            start = (self.static_bytes + align - 1) // align * align
            self.shared[var] = (start, size)
            end = max(end, start + size)
        self.shared_bytes = max((end + 15) // 16 * 16, 16)


SHARED_BASE = 0x100  # shared-window addresses; nonzero so null stays invalid
# Shared memory of one block: what every launch may take, static and
# dynamic together, and the most an sm_90 block may take when its kernel's
# dynamic limit is raised.
DEFAULT_SHARED_PER_BLOCK = 48 * 1024
MAX_SHARED_PER_BLOCK = 227 * 1024


def parse_module(ptx):
    """PTX text -> {kernel name: Kernel}."""
    kernels = {}
    text = re.sub(r"//[^\n]*", "", ptx)
    dynamic_shared = [(d.group(2), int(d.group(1))) for d in re.finditer(
        r"^\s*\.extern\s+\.shared\s+\.align\s+(\d+)\s+\.b8\s+([\w$]+)\[\]\s*;",
        text, re.M)]
    for match in re.finditer(r"\.entry\s+(\w+)\s*\((.*?)\)(.*?)\{(.*?)\n\}", text, re.S):
        name, params_text, _, body = match.groups()
        params = []
        for p in re.finditer(r"\.param\s+\.(\w+)(?:\s+\.ptr)?(?:\s+\.align\s+\d+)?\s+(\w+)",
                             params_text):
            params.append((p.group(2), type_bytes(p.group(1))))
        shared, code, labels = [], [], {}
        position = match.start(4)
        for statement in body.split(";"):
            line = text.count("\n", 0, position + len(statement) - len(statement.lstrip())) + 1
            position += len(statement) + 1
            stripped = statement.strip()
            while True:
                label = re.match(r"(\$?[\w$]+):\s*", stripped)
                if not label:
                    break
                labels[label.group(1)] = len(code)
                stripped = stripped[label.end():]
            if not stripped or stripped.startswith((".reg", ".pragma", ".local")):
                continue
            if stripped.startswith(".shared"):
                s = re.fullmatch(r"\.shared\s+\.align\s+(\d+)\s+\.(\w+)\s+([\w$]+)"
                                 r"(?:\[(\d+)\])?", stripped)
                if not s:
                    raise EmulationError(f"{name}: unsupported shared declaration {stripped}")
                count = int(s.group(4)) if s.group(4) else 1
                shared.append((s.group(3), int(s.group(1)), count * type_bytes(s.group(2))))
                continue
            guard = None
            g = re.match(r"@(!?%\w+)\s+", stripped)
            if g:
                guard = parse_operand(g.group(1))
                stripped = stripped[g.end():]
            fields = stripped.split(None, 1)
            code.append(Instruction(guard, fields[0],
                                    split_operands(fields[1]) if len(fields) > 1 else [], line,
                                    " ".join(statement.split())))
        kernels[name] = Kernel(name, params, shared, code, labels, dynamic_shared)
    return kernels


def parse_globals(ptx):
    """The module-scope `.global` variables of PTX text: {name: their bytes},
    integer initialisers written, the rest zero."""
    text = re.sub(r"//[^\n]*", "", ptx)
    variables = {}
    for g in re.finditer(r"^\s*(?:\.visible\s+)?\.global\s+\.align\s+\d+\s+\.(\w+)\s+"
                         r"([\w$]+)(?:\[(\d+)\])?\s*(?:=\s*([^;]+))?;", text, re.M):
        ptx_type, name, count, value = g.groups()
        data = np.zeros(int(count or 1), unsigned_of(ptx_type))
        if value and not count and ptx_type[0] in "bsu":
            data[0] = int(value.strip(), 0) & ((1 << 8 * type_bytes(ptx_type)) - 1)
        variables[name] = data.view(np.uint8)
    return variables


# ----------------------------------------------------------------------------
# Execution
# ----------------------------------------------------------------------------


RUNNING, AT_BARRIER, EXITED, AT_COLLECTIVE = 0, 1, 2, 3


class Memory:
    """Device memory: one NumPy arena whose addresses are real host addresses
    (the fake driver copies to and from them with memcpy), with the live
    allocations for access checks."""

    def __init__(self, size):
        self.arena = np.zeros(size, np.uint8)
        self.base = self.arena.ctypes.data
        self.next = 0
        self.live = {}  # offset -> size

    def alloc(self, size):
        offset = (self.next + 255) // 256 * 256
        if offset + size > self.arena.size:
            raise EmulationError(f"out of emulated device memory ({self.arena.size} bytes)")
        self.live[offset] = size
        self.next = offset + max(size, 1)
        # A GPU's new allocation holds whatever was there: all-ones bytes
        # (NaN as floats, -1 as integers), so that a kernel reading what it
        # never wrote and not masking it computes garbage here too.
        self.arena[offset:offset + size] = 0xFF
        return self.base + offset

    def free(self, address):
        if self.live.pop(address - self.base, None) is None:
            raise EmulationError(f"free of {address:#x}, not an allocation")
        if not self.live:
            self.next = 0

    def check(self, offsets, width, what):
        """Raises unless every [offset, offset + width) is inside one live
        allocation."""
        starts = np.array(sorted(self.live), np.int64)
        sizes = np.array([self.live[s] for s in starts], np.int64)
        slot = np.searchsorted(starts, offsets, side="right") - 1
        ok = slot >= 0
        ok[ok] &= offsets[ok] + width <= starts[slot[ok]] + sizes[slot[ok]]
        if not ok.all():
            bad = int(offsets[~ok][0])
            raise EmulationError(f"{what}: invalid global access of {width} bytes at "
                                 f"{self.base + bad:#x} (no live allocation holds it)")


class Launch:
    """The state of one batch of blocks of a kernel launch."""

    def __init__(self, kernel, memory, params, grid, block, first_block, blocks,
                 dependent=False):
        self.kernel, self.memory = kernel, memory
        self.params = params
        threads = block[0] * block[1] * block[2]
        self.lanes_per_block = (threads + 31) // 32 * 32
        lanes = self.lanes_per_block * blocks
        self.size = lanes
        lane = np.arange(lanes)
        local = lane % self.lanes_per_block
        block_index = first_block + lane // self.lanes_per_block
        self.block_in_batch = lane // self.lanes_per_block
        self.special = {
            "%tid.x": local % block[0], "%tid.y": local // block[0] % block[1],
            "%tid.z": local // (block[0] * block[1]),
            "%ntid.x": np.full(lanes, block[0]), "%ntid.y": np.full(lanes, block[1]),
            "%ntid.z": np.full(lanes, block[2]),
            "%ctaid.x": block_index % grid[0], "%ctaid.y": block_index // grid[0] % grid[1],
            "%ctaid.z": block_index // (grid[0] * grid[1]),
            "%nctaid.x": np.full(lanes, grid[0]), "%nctaid.y": np.full(lanes, grid[1]),
            "%nctaid.z": np.full(lanes, grid[2]),
            "%laneid": lane % 32, "%warpid": local // 32,
        }
        self.special = {k: v.astype(np.uint64) for k, v in self.special.items()}
        self.regs = {}
        # Memory round trips (Executor.track_round_trips): per lane, how many
        # times it has waited for global memory (`clock`) and its clock when
        # it entered its current basic block; per register, the clock at
        # which its value is there (absent: 0).
        self.clock = np.zeros(lanes, np.int64)
        self.block_clock = np.zeros(lanes, np.int64)
        self.ready = {}
        # cp.async: per lane, the number of its current (open) group, and
        # the round trip its copies arrive at; the copies not yet written to
        # shared memory (AsyncCopies), oldest first.
        self.copy_group = np.zeros(lanes, np.int64)
        self.copy_ready = np.zeros(lanes, np.int64)
        self.pending_copies = []
        self.pc = np.zeros(lanes, np.int64)
        self.state = np.where(local < threads, RUNNING, EXITED)
        # A dependent launch (programmatic stream serialization) may start
        # before the previous kernel ends: each thread must pass
        # griddepcontrol.wait before it touches global memory or exits.
        self.waited = np.full(lanes, not dependent)
        # Uninitialised shared memory holds a recognisable pattern, not zeros.
        self.shared = np.full(blocks * kernel.shared_bytes, 0xCD, np.uint8)
        # Race detection on shared memory, per 4-byte word: the thread that
        # last wrote (read) it, and the barrier epochs of its block and warp
        # then; a block's epoch moves at every bar.sync, a warp's at every
        # bar.warp.sync.
        self.thread = (lane // self.lanes_per_block) * threads + local
        self.block_epoch = np.zeros(blocks, np.int64)
        self.warp_epoch = np.zeros(lanes // 32, np.int64)
        words = blocks * kernel.shared_bytes // 4
        self.last = {kind: (np.full(words, -1, np.int64), np.zeros(words, np.int64),
                            np.zeros(words, np.int64)) for kind in ("write", "read")}
        # Words written through the generic proxy (stores, cp.async) since
        # their writer's last fence.proxy.async: the async proxy (wgmma)
        # may not see them yet.
        self.unfenced = np.zeros(words, bool)

    def check_race(self, sel, offsets, width, writes, where):
        """Records the shared accesses of the lanes `sel` at byte `offsets`
        (into self.shared) and raises on a race: a word that another thread
        wrote (or, for a write, read) since the last barrier that orders the
        two, bar.sync for any threads, bar.warp.sync for threads of a warp."""
        lanes = lanes_of(sel, self.size)
        words = (offsets[:, None] // 4 + np.arange(max(width // 4, 1))[None, :]).ravel()
        lanes = np.repeat(lanes, max(width // 4, 1))
        thread = self.thread[lanes]
        block = self.block_in_batch[lanes]
        warp = lanes // 32
        conflicts = [("write", "reads" if not writes else "writes")]
        if writes:
            conflicts.append(("read", "writes"))
        for kind, verb in conflicts:
            other, epoch, warp_epoch = self.last[kind]
            previous = other[words]
            same_warp = (previous >= 0) & (previous // 32 == thread // 32)
            ordered = (epoch[words] < self.block_epoch[block]) | (
                same_warp & (warp_epoch[words] < self.warp_epoch[warp]))
            race = (previous >= 0) & (previous != thread) & ~ordered
            if race.any():
                i = int(np.argmax(race))
                raise EmulationError(
                    f"{where}: shared-memory race: thread {int(thread[i])} {verb} "
                    f"offset {int(words[i]) * 4 % max(self.kernel.shared_bytes, 1)} that "
                    f"thread {int(previous[i])} {'wrote' if kind == 'write' else 'read'} "
                    f"with no barrier between (block {int(block[i])} of the batch)")
        if writes:
            # Lanes of one store writing the same word: undefined which wins.
            unique, first = np.unique(words, return_index=True)
            if unique.size < words.size:
                duplicate = np.setdiff1d(np.arange(words.size), first)[0]
                raise EmulationError(f"{where}: shared-memory race: threads write "
                                     f"one word in one instruction (thread "
                                     f"{int(thread[duplicate])})")
        other, epoch, warp_epoch = self.last["write" if writes else "read"]
        other[words] = thread
        epoch[words] = self.block_epoch[block]
        warp_epoch[words] = self.warp_epoch[warp]
        if writes:
            self.unfenced[words] = True

    def fence_proxy_async(self, lanes):
        """fence.proxy.async of `lanes`: their shared-memory writes so far
        are visible to the async proxy."""
        writer = self.last["write"][0]
        fencing = np.zeros(int(self.thread.max()) + 1, bool)
        fencing[self.thread[lanes]] = True
        self.unfenced &= ~((writer >= 0) & fencing[np.maximum(writer, 0)])

    def complete_copies(self, lanes, newest, where):
        """cp.async.wait_group `newest` for `lanes`: writes their copies of
        every committed group but the `newest` most recent to shared memory.
        A GPU may write them any time from the copy on; here they land as
        late as it may, so a read before the wait sees the old bytes, and
        the race check counts the write both at the copy and here."""
        remaining = []
        for copies in self.pending_copies:
            done = np.isin(copies.lanes, lanes) & (
                copies.group < self.copy_group[copies.lanes] - newest)
            if done.any():
                sel = copies.lanes[done]
                offsets = copies.offsets[done]
                width = copies.data.shape[1]
                self.check_race(sel, offsets, width, True, where)
                self.shared[offsets[:, None] + np.arange(width)] = copies.data[done]
                self.clock[sel] = np.maximum(self.clock[sel], copies.ready[done])
            if not done.all():
                remaining.append(AsyncCopies(*(field[~done] for field in copies)))
        self.pending_copies = remaining

    def reg(self, name):
        bits = self.regs.get(name)
        if bits is None:
            bits = self.regs[name] = np.zeros(self.size, np.uint64)
        return bits


def multiplicands(L, regs, lanes, in_type):
    """The mma multiplicands of `regs` per warp and lane, as float32
    [warps, 32, len(regs), values per register]: two f16 or bf16 per
    register, or one tf32 (the upper 19 bits of an f32)."""
    bits = np.stack([L.reg(r.value)[lanes] for r in regs], axis=-1)
    if in_type == "tf32":
        word = (bits & np.uint64(0xFFFFE000)).astype(np.uint32)
        return word.view(np.float32).reshape(-1, 32, len(regs), 1)
    pair = np.stack([bits & np.uint64(0xFFFF), (bits >> np.uint64(16)) & np.uint64(0xFFFF)],
                    axis=-1).astype(np.uint16)
    if in_type == "bf16":
        half = bf16_bits_to_f32(pair)
    else:
        half = pair.view(np.float16).astype(np.float32)
    return half.reshape(-1, 32, len(regs), 2)


_GROUP, _QUAD = np.arange(32) // 4, np.arange(32) % 4


def a_matrix(L, regs, lanes, in_type):
    """The A operand of the 16 rows of each warp's mma, [warps, 16, depth],
    from its lanes' A registers `regs` in mma.sync's layout (m16n8k16 for
    f16/bf16, m16n8k8 for tf32; a warp's rows of a warpgroup mma too)."""
    values = multiplicands(L, regs, lanes, in_type)
    depth = 8 if in_type == "tf32" else 16
    A = np.zeros((values.shape[0], 16, depth), np.float64)
    for r in range(values.shape[2]):
        for h in range(values.shape[3]):
            if in_type == "tf32":
                column = _QUAD + 4 * (r // 2)
            else:
                column = _QUAD * 2 + 8 * (r // 2) + h
            A[:, _GROUP + 8 * (r % 2), column] = values[:, :, r, h]
    return A


def accumulators(D, count):
    """Each lane's `count` f32 accumulators of the products D [warps, 16,
    columns], in mma.sync's m16n8 layout, one 8-column tile after another:
    [warps, 32, count]."""
    out = np.zeros((D.shape[0], 32, count), np.float64)
    for r in range(count):
        out[:, :, r] = D[:, _GROUP + 8 * (r % 4 // 2), 8 * (r // 4) + _QUAD * 2 + r % 2]
    return out


def lanes_of(sel, size):
    return np.arange(size) if isinstance(sel, slice) else sel


def shared_wavefronts(lanes, addresses, width):
    """(wavefronts, fewest possible) of one shared-memory instruction of the
    `lanes` (any warps) at byte `addresses`, `width` bytes each: 32 banks of
    4-byte words; a warp's accesses of up to 4 bytes form one phase, of 8
    bytes two (half-warps), of 16 bytes four (quarter-warps); a phase takes
    as many wavefronts as the most distinct words any bank holds among its
    lanes' (lanes reading one word share it)."""
    words = max(width // 4, 1)
    phase_lanes = 32 if width <= 4 else 128 // width
    phase = lanes // 32 * (32 // phase_lanes) + lanes % 32 // phase_lanes
    phases = np.repeat(phase, words)
    word = (addresses[:, None] // 4 + np.arange(words)[None, :]).ravel()
    distinct = np.unique(np.stack([phases, word]), axis=1)
    per_bank, counts = np.unique(distinct[0] * 32 + distinct[1] % 32, return_counts=True)
    deepest = {}
    for key, count in zip((per_bank // 32).tolist(), counts.tolist()):
        deepest[key] = max(deepest.get(key, 0), count)
    return sum(deepest.values()), len(deepest)


def block_leaders(kernel):
    """The first instruction of each basic block, ascending."""
    code = kernel.code
    leaders = {0} | set(kernel.labels.values())
    leaders |= {pc + 1 for pc, i in enumerate(code) if i.parts[0] in ("bra", "ret", "exit")}
    return sorted(p for p in leaders if p < len(code))


def schedule_priority(kernel):
    """Per instruction, its rank in the reverse post-order of the kernel's
    control-flow graph (instruction order inside a block). Running the lanes
    of the lowest rank first makes diverged lanes meet again where the paths
    join even when the code layout puts a branch's side after the join (as
    a GPU reconverges at the join): the join follows every block that
    reaches it in this order, loops aside."""
    code = kernel.code
    leaders = block_leaders(kernel)
    block_of = np.zeros(len(code), np.int64)
    for index, start in enumerate(leaders):
        block_of[start:] = index
    successors = []
    for index, start in enumerate(leaders):
        end = leaders[index + 1] if index + 1 < len(leaders) else len(code)
        last = code[end - 1]
        targets = []
        if last.parts[0] == "bra":
            targets.append(block_of[kernel.labels[last.operands[0].value]])
        unconditional = last.parts[0] in ("ret", "exit") or (
            last.parts[0] == "bra" and last.guard is None)
        if not unconditional and end < len(code):
            targets.append(index + 1)
        successors.append(targets)
    order, seen = [], set()
    stack = [(0, iter(successors[0]))]
    seen.add(0)
    while stack:
        block, children = stack[-1]
        child = next(children, None)
        if child is None:
            order.append(block)
            stack.pop()
        elif child not in seen:
            seen.add(child)
            stack.append((child, iter(successors[child])))
    rank = np.full(len(leaders), len(leaders), np.int64)
    for position, block in enumerate(reversed(order)):
        rank[block] = position
    return rank[block_of] * len(code) + np.arange(len(code))


class Executor:
    """Compiles each instruction of a kernel to a closure over a Launch.

    With `track_round_trips`, it also counts memory round trips per thread,
    modelling the code as ptxas schedules it: inside a basic block an
    instruction runs as soon as its operands are there (ptxas reorders
    within a block, not across branches or barriers), a load from global
    memory delivers one round trip after it issues, and a thread's clock
    reaches every value it computes, not the values it only loads or copies
    (a load for a later block, such as a prefetch carried by a loop, costs
    nothing until it is used).
    A block starts at the clock its thread reached, and leaves a barrier
    with the clock of its slowest thread. The most round trips of any
    thread, times the memory latency, bounds a latency-bound kernel's time
    from below."""

    def __init__(self, kernel, track_round_trips=False, count_bank_conflicts=False):
        self.kernel = kernel
        # Dynamic shared memory a launch may ask for, once raised
        # (Emulator.set_max_dynamic_shared); None: the default.
        self.max_dynamic_shared = None
        self.track_round_trips = track_round_trips
        # Shared-memory wavefronts (shared_wavefronts), summed over every
        # shared access, and the fewest those accesses could have taken.
        self.count_bank_conflicts = count_bank_conflicts
        self.wavefronts = self.ideal_wavefronts = 0
        # Wavefronts and bank conflicts per PTX line, to find the accesses
        # that take the most (Emulator.shared_lines).
        self.wavefronts_by_line = collections.Counter()
        self.conflicts_by_line = collections.Counter()
        self.round_trips = 0
        self.sources = [source_registers(instr) for instr in kernel.code]
        self.destinations = [destination_registers(instr) for instr in kernel.code]
        self.loads = [loads_global(instr) for instr in kernel.code]
        self.async_copies = [copies_async(instr) for instr in kernel.code]
        # Register copies (the moves of loop-carried values) are renamings
        # that ptxas's register allocation removes: they wait for nothing.
        self.copies = [instr.parts[0] == "mov" and instr.operands[-1].kind == "reg"
                       for instr in kernel.code]
        self.leader = np.zeros(len(kernel.code), bool)
        self.leader[block_leaders(kernel)] = True
        # Per instruction, over every launch: warp instructions issued (a
        # warp with any lane there counts once) and thread instructions.
        self.issued = np.zeros(len(kernel.code), np.int64)
        self.executed = np.zeros(len(kernel.code), np.int64)
        self.launches = 0
        self.blocks = 0
        # Bytes cp.async read from global memory (a source size may be 0).
        self.copied_bytes = 0
        self.collectives = set()
        self.priority = schedule_priority(kernel)
        self.ops = []
        for pc, instr in enumerate(kernel.code):
            self.ops.append(self.compile(instr))
            if getattr(self.ops[-1], "collective", False):
                self.collectives.add(pc)

    # -- operands ------------------------------------------------------------

    def read(self, L, op, ptx_type, sel):
        if op.kind == "reg":
            if op.value in L.special:
                bits = L.special[op.value][sel]
            elif op.value.startswith("%p"):
                value = L.reg(op.value)[sel].astype(bool)
                return ~value if op.negate else value
            else:
                bits = L.reg(op.value)[sel]
            return from_bits(bits, ptx_type)
        if op.kind == "imm":
            floating = isinstance(op.value, np.floating)
            if ptx_type in _FLOAT_TYPES:
                return np.asarray(op.value).astype(_FLOAT_TYPES[ptx_type])
            if floating:  # a float literal moved as bits (mov.b32 %r, 0f...)
                return from_bits(to_bits(op.value, "f32" if op.value.dtype == np.float32
                                         else "f64"), ptx_type)
            if ptx_type == "pred":
                return np.asarray(bool(op.value))
            width = 8 * type_bytes(ptx_type)
            return from_bits(np.asarray(op.value & ((1 << width) - 1), np.uint64), ptx_type)
        if op.kind == "sym":
            if op.value in self.kernel.shared:
                return np.asarray(SHARED_BASE + self.kernel.shared[op.value][0], np.uint64)
            raise EmulationError(f"{self.kernel.name}: unknown symbol {op.value}")
        raise EmulationError(f"{self.kernel.name}: cannot read operand {op}")

    def write(self, L, op, values, ptx_type, sel):
        if op.kind != "reg":
            raise EmulationError(f"{self.kernel.name}: cannot write operand {op}")
        if op.value == "_":
            return
        L.reg(op.value)[sel] = to_bits(values, ptx_type)

    # -- memory --------------------------------------------------------------

    def addresses(self, L, op, sel):
        base = op.value
        if base.kind == "sym":
            if base.value in self.kernel.shared:
                return np.asarray(SHARED_BASE + self.kernel.shared[base.value][0]
                                  + op.offset, np.int64)
            raise EmulationError(f"{self.kernel.name}: unknown symbol {base.value}")
        return L.reg(base.value)[sel].view(np.int64) + op.offset

    def count_wavefronts(self, L, sel, address, width, instr):
        if self.count_bank_conflicts:
            lanes = lanes_of(sel, L.size)
            address = np.broadcast_to(address, (lanes.size,)).astype(np.int64)
            taken, fewest = shared_wavefronts(lanes, address, width)
            self.wavefronts += taken
            self.ideal_wavefronts += fewest
            self.wavefronts_by_line[instr.line] += taken
            self.conflicts_by_line[instr.line] += taken - fewest

    def where(self, instr):
        return f"{self.kernel.name} line {instr.line} ({instr.opcode})"

    def memory_view(self, L, space, address, width, sel, instr):
        """(byte array, element offsets) for accesses of `width` bytes."""
        address = np.broadcast_to(address, (len(lanes_of(sel, L.size)),)).astype(np.int64)
        where = self.where(instr)
        if np.any(address % width):
            raise EmulationError(f"{where}: misaligned {width}-byte access")
        if space == "shared":
            offsets = address - SHARED_BASE
            ok = np.zeros(offsets.shape, bool)
            for start, size in self.kernel.shared.values():
                ok |= (offsets >= start) & (offsets + width <= start + size)
            if not ok.all():
                raise EmulationError(f"{where}: shared access outside every variable "
                                     f"(offset {int(offsets[~ok][0])})")
            block = L.block_in_batch[sel]
            return L.shared, offsets + block * self.kernel.shared_bytes
        if space == "global":
            if not L.waited[sel].all():
                raise EmulationError(
                    f"{where}: global memory access before griddepcontrol.wait in a "
                    "dependent launch (the previous kernel may still use that memory)")
            offsets = address - L.memory.base
            L.memory.check(offsets, width, where)
            return L.memory.arena, offsets
        raise EmulationError(f"{where}: unsupported state space {space}")

    @staticmethod
    def load(array, offsets, ptx_type):
        width = type_bytes(ptx_type)
        raw = array.view(unsigned_of(ptx_type))[offsets // width]
        return raw.astype(np.uint64)

    @staticmethod
    def store(array, offsets, bits, ptx_type):
        width = type_bytes(ptx_type)
        view = array.view(unsigned_of(ptx_type))
        view[offsets // width] = bits.astype(unsigned_of(ptx_type))

    # -- compilation ---------------------------------------------------------

    def compile(self, instr):
        parts = instr.parts
        head = parts[0]
        method = getattr(self, "op_" + head, None)
        modifiers = set(parts[1:]) - _KNOWN_MODIFIERS - _OP_MODIFIERS.get(head, set())
        if method is None or modifiers:
            return self.unsupported(instr)
        return method(instr, parts)

    def unsupported(self, instr):
        def run(L, sel):
            raise EmulationError(f"{self.kernel.name} line {instr.line}: "
                                 f"unsupported instruction {instr.opcode}")
        return run

    # Control flow: these set the pc of `sel` themselves and return True.

    def op_bra(self, instr, parts):
        target = self.kernel.labels[instr.operands[0].value]

        def run(L, sel):
            L.pc[sel] = target
            return True
        return run

    @staticmethod
    def enter(state):
        def run(L, sel):
            L.state[sel] = state
            return True
        return run

    def op_ret(self, instr, parts):
        def run(L, sel):
            if not L.waited[sel].all():
                # The grid could end before the kernel it depends on, and a
                # kernel launched after it wait for this one alone.
                raise EmulationError(f"{self.where(instr)}: a thread of a dependent "
                                     "launch exits without griddepcontrol.wait")
            L.state[sel] = EXITED
            return True
        return run

    op_exit = op_ret

    def op_bar(self, instr, parts):
        if parts[1] == "warp":
            def order_warps(L, sel, lanes):
                L.warp_epoch[np.unique(lanes // 32)] += 1
            return self.warp_collective(instr, order_warps, instr.operands[0])
        return self.enter(AT_BARRIER)

    op_barrier = op_bar

    # Data movement.

    def op_mov(self, instr, parts):
        t = parts[-1]
        dst, src = instr.operands

        def run(L, sel):
            if dst.kind == "vec":  # unpack
                bits = from_bits(self.read_bits(L, src, sel), "u64")
                width = 8 * type_bytes(t) // len(dst.value)
                for i, d in enumerate(dst.value):
                    L.reg(d.value)[sel] = (bits >> np.uint64(i * width)) & \
                        np.uint64((1 << width) - 1)
            elif src.kind == "vec":  # pack
                width = 8 * type_bytes(t) // len(src.value)
                bits = np.zeros(len(lanes_of(sel, L.size)), np.uint64)
                for i, s in enumerate(src.value):
                    bits |= (self.read_bits(L, s, sel) & np.uint64((1 << width) - 1)) << \
                        np.uint64(i * width)
                L.reg(dst.value)[sel] = bits
            else:
                self.write(L, dst, self.read(L, src, t, sel), t, sel)
        return run

    def read_bits(self, L, op, sel):
        if op.kind == "reg" and op.value not in L.special:
            return L.reg(op.value)[sel]
        return to_bits(self.read(L, op, "u64", sel), "u64")

    def op_cvta(self, instr, parts):
        dst, src = instr.operands

        def run(L, sel):
            self.write(L, dst, self.read(L, src, "u64", sel), "u64", sel)
        return run

    def op_ld(self, instr, parts):
        t = parts[-1]
        vector = next((int(p[1:]) for p in parts if re.fullmatch(r"v\d", p)), 1)
        space = next((p for p in parts if p in ("global", "shared", "param", "local")),
                     "generic")
        dst, src = instr.operands
        dsts = dst.value if dst.kind == "vec" else [dst]
        width = type_bytes(t)

        if space == "param":
            name = src.value.value
            index = [p[0] for p in self.kernel.params].index(name)

            def run_param(L, sel):
                raw = np.frombuffer(L.params[index], np.uint8)
                value = raw[src.offset:src.offset + width].view(unsigned_of(t))[0]
                L.reg(dst.value)[sel] = np.uint64(value)
            return run_param

        def run(L, sel):
            if space == "generic":
                raise EmulationError(f"{self.kernel.name} line {instr.line}: "
                                     "generic addressing is not emulated")
            address = self.addresses(L, src, sel)
            array, offsets = self.memory_view(L, space, address, width * vector, sel, instr)
            if space == "shared":
                L.check_race(sel, offsets, width * vector, False, self.where(instr))
                self.count_wavefronts(L, sel, address, width * vector, instr)
            for i, d in enumerate(dsts):
                bits = self.load(array, offsets + i * width, t)
                if t[0] == "s":  # sign-extend into the destination register
                    bits = to_bits(from_bits(bits, t).astype(np.int64), "s64")
                L.reg(d.value)[sel] = bits
        return run

    def op_st(self, instr, parts):
        t = parts[-1]
        vector = next((int(p[1:]) for p in parts if re.fullmatch(r"v\d", p)), 1)
        space = next((p for p in parts if p in ("global", "shared", "local")), "generic")
        dst, src = instr.operands
        srcs = src.value if src.kind == "vec" else [src]
        width = type_bytes(t)

        def run(L, sel):
            address = self.addresses(L, dst, sel)
            array, offsets = self.memory_view(L, space, address, width * vector, sel, instr)
            if space == "shared":
                L.check_race(sel, offsets, width * vector, True, self.where(instr))
                self.count_wavefronts(L, sel, address, width * vector, instr)
            count = len(offsets)
            for i, s in enumerate(srcs):
                bits = np.broadcast_to(to_bits(self.read(L, s, t, sel), t), (count,))
                self.store(array, offsets + i * width, bits, t)
        return run

    def op_cp(self, instr, parts):
        """cp.async: copies of 4, 8 or 16 bytes from global to shared
        memory (with a source size, only that many bytes are read and the
        rest are zeros), grouped per thread by commit_group and awaited by
        wait_group / wait_all."""
        if parts[1] != "async":
            return self.unsupported(instr)
        if parts[2] == "commit_group":
            def commit(L, sel):
                L.copy_group[sel] += 1
            return commit
        if parts[2] in ("wait_group", "wait_all"):
            newest = int(instr.operands[0].value) if parts[2] == "wait_group" else 0

            def wait(L, sel):
                if parts[2] == "wait_all":  # commits the open group first
                    L.copy_group[sel] += 1
                L.complete_copies(lanes_of(sel, L.size), newest, self.where(instr))
                # No memory access moves above a wait: code after it starts
                # no earlier than the wait ends, as after a barrier.
                L.block_clock[sel] = L.clock[sel]
            return wait
        if len(instr.operands) not in (3, 4) or "shared" not in parts or \
                "global" not in parts:
            return self.unsupported(instr)
        dst, src, size = instr.operands[:3]
        width = int(size.value)
        source_size = instr.operands[3] if len(instr.operands) == 4 else size

        def copy(L, sel):
            lanes = lanes_of(sel, L.size)
            target_address = self.addresses(L, dst, sel)
            _, target = self.memory_view(L, "shared", target_address, width, sel, instr)
            L.check_race(sel, target, width, True, self.where(instr))
            self.count_wavefronts(L, sel, target_address, width, instr)
            read = np.broadcast_to(self.read(L, source_size, "u32", sel).astype(np.int64),
                                   (lanes.size,))
            if np.any(read > width):
                raise EmulationError(f"{self.where(instr)}: source size above {width}")
            data = np.zeros((lanes.size, width), np.uint8)
            self.copied_bytes += int(read.sum())
            reading = read > 0
            if reading.any():
                address = np.broadcast_to(self.addresses(L, src, sel), (lanes.size,))
                arena, source = self.memory_view(L, "global", address[reading], width,
                                                 lanes[reading], instr)
                filled = np.arange(width)[None, :] < read[reading, None]
                data[reading] = np.where(filled, arena[source[:, None] + np.arange(width)],
                                         0)
            L.pending_copies.append(AsyncCopies(lanes, L.copy_group[lanes].copy(), target,
                                                data, L.copy_ready[lanes].copy()))
        return copy

    def op_atom(self, instr, parts):
        t = parts[-1]
        space = next(p for p in parts if p in ("global", "shared"))
        operation = parts[-2]
        dst, addr, value = instr.operands[:3]
        combine = {"add": np.add, "max": np.maximum, "min": np.minimum,
                   "exch": lambda old, new: new, "or": np.bitwise_or,
                   "and": np.bitwise_and}[operation]

        def run(L, sel):
            address = self.addresses(L, addr, sel)
            array, offsets = self.memory_view(L, space, address, type_bytes(t), sel, instr)
            values = np.broadcast_to(self.read(L, value, t, sel), offsets.shape)
            view = array.view(unsigned_of(t))
            old = np.empty(offsets.shape, unsigned_of(t))
            # One lane after another, in lane order: a valid serialisation.
            for k, offset in enumerate(offsets // type_bytes(t)):
                current = view[offset:offset + 1]
                old[k] = current[0]
                typed = current.view(_INT_TYPES.get(t, _FLOAT_TYPES.get(t)))
                typed[0] = combine(typed[0], values[k])
            self.write(L, dst, old.view(_INT_TYPES.get(t, _FLOAT_TYPES.get(t))), t, sel)
        return run

    # Arithmetic.

    def elementwise(self, instr, t, function, result_type=None):
        dst, *srcs = instr.operands
        result_type = result_type or t

        flush = flush_denormals if "ftz" in instr.parts and t == "f32" else (lambda v: v)

        def run(L, sel):
            with np.errstate(all="ignore"):
                values = flush(function(*[flush(self.read(L, s, t, sel)) for s in srcs]))
            self.write(L, dst, values, result_type, sel)
        return run

    def op_add(self, instr, parts):
        return self.elementwise(instr, parts[-1], lambda a, b: a + b)

    def op_sub(self, instr, parts):
        return self.elementwise(instr, parts[-1], lambda a, b: a - b)

    def op_mul(self, instr, parts):
        t = parts[-1]
        if "wide" in parts:
            wide = {"u32": "u64", "s32": "s64", "u16": "u32", "s16": "s32"}[t]
            kind = _INT_TYPES[wide]
            dst, a, b = instr.operands

            def run(L, sel):
                values = self.read(L, a, t, sel).astype(kind) * self.read(L, b, t, sel).astype(kind)
                self.write(L, dst, values, wide, sel)
            return run
        if "hi" in parts:
            if type_bytes(t) == 8:
                def high(a, b):
                    ua, ub = a.view(np.uint64), b.view(np.uint64)
                    h = mulhi_u64(ua, ub)
                    if t == "s64":
                        h = h - np.where(a < 0, ub, 0).astype(np.uint64) \
                              - np.where(b < 0, ua, 0).astype(np.uint64)
                    return h.view(_INT_TYPES[t])
                return self.elementwise(instr, t, high)
            bits = 8 * type_bytes(t)
            return self.elementwise(
                instr, t, lambda a, b: ((a.astype(np.int64) * b.astype(np.int64)) >> bits)
                .astype(_INT_TYPES[t]))
        return self.elementwise(instr, t, lambda a, b: a * b)

    def op_mad(self, instr, parts):
        t = parts[-1]
        if "wide" in parts or "hi" in parts:
            return self.unsupported(instr)
        if t == "f32" or t == "f64":
            return self.op_fma(instr, parts)
        return self.elementwise(instr, t, lambda a, b, c: a * b + c)

    def op_fma(self, instr, parts):
        t = parts[-1]
        # One rounding: the product and sum in double for f32 operands.
        return self.elementwise(
            instr, t, lambda a, b, c: (a.astype(np.float64) * b + c).astype(_FLOAT_TYPES[t]))

    def op_div(self, instr, parts):
        t = parts[-1]
        if t in _FLOAT_TYPES:
            return self.elementwise(instr, t, lambda a, b: a / b)

        def divide(a, b):
            b = np.where(b == 0, 1, b).astype(a.dtype)
            q = a // b
            if t[0] == "s":  # truncate toward zero
                q = np.where((a % b != 0) & ((a < 0) != (b < 0)), q + 1, q)
            return q.astype(a.dtype)
        return self.elementwise(instr, t, divide)

    def op_rem(self, instr, parts):
        t = parts[-1]

        def remainder(a, b):
            b = np.where(b == 0, 1, b).astype(a.dtype)
            if t[0] == "s":
                return (np.sign(a) * (np.abs(a) % np.abs(b))).astype(a.dtype)
            return a % b
        return self.elementwise(instr, t, remainder)

    def min_max(self, parts, pick, pick_number):
        """min/max: NaN-propagating with .NaN (and for integers), else the
        number of a NaN and a number; .relu (sm_90) clamps the result at 0."""
        t = parts[-1]
        chosen = pick if "NaN" in parts or t not in _FLOAT_TYPES else pick_number
        if "relu" not in parts:
            return t, chosen
        return t, lambda a, b: np.maximum(chosen(a, b), 0).astype(a.dtype)

    def op_min(self, instr, parts):
        return self.elementwise(instr, *self.min_max(parts, np.minimum, np.fmin))

    def op_max(self, instr, parts):
        return self.elementwise(instr, *self.min_max(parts, np.maximum, np.fmax))

    def op_neg(self, instr, parts):
        return self.elementwise(instr, parts[-1], lambda a: -a)

    def op_abs(self, instr, parts):
        return self.elementwise(instr, parts[-1], np.abs)

    def op_and(self, instr, parts):
        return self.elementwise(instr, parts[-1], lambda a, b: a & b)

    def op_or(self, instr, parts):
        return self.elementwise(instr, parts[-1], lambda a, b: a | b)

    def op_xor(self, instr, parts):
        return self.elementwise(instr, parts[-1], lambda a, b: a ^ b)

    def op_not(self, instr, parts):
        return self.elementwise(instr, parts[-1], lambda a: ~a)

    def shift(self, instr, parts, left):
        t = parts[-1]
        dst, a, b = instr.operands
        bits = 8 * type_bytes(t)

        def run(L, sel):
            value = self.read(L, a, t, sel)
            amount = np.minimum(self.read(L, b, "u32", sel).astype(np.int64), bits)
            if left:
                result = np.where(amount >= bits, 0,
                                  value << np.minimum(amount, bits - 1).astype(value.dtype))
            else:
                clamped = np.minimum(amount, bits - 1).astype(value.dtype)
                result = value >> clamped
                if t[0] != "s":
                    result = np.where(amount >= bits, 0, result)
            self.write(L, dst, np.asarray(result).astype(value.dtype), t, sel)
        return run

    def op_shl(self, instr, parts):
        return self.shift(instr, parts, left=True)

    def op_shr(self, instr, parts):
        return self.shift(instr, parts, left=False)

    def op_bfe(self, instr, parts):
        t = parts[-1]
        dst, a, b, c = instr.operands
        bits = 8 * type_bytes(t)

        def run(L, sel):
            value = self.read(L, a, t, sel).view(unsigned_of(t)).astype(np.uint64)
            start = np.minimum(self.read(L, b, "u32", sel).astype(np.uint64), bits)
            length = np.minimum(self.read(L, c, "u32", sel).astype(np.uint64), bits)
            mask = np.where(length >= 64, ~np.uint64(0),
                            (np.uint64(1) << np.minimum(length, 63)) - np.uint64(1))
            field = (value >> np.minimum(start, 63)) & mask
            if t[0] == "s":
                top = start + length - 1
                sign = np.where(length == 0, 0,
                                (value >> np.minimum(top, bits - 1)) & np.uint64(1))
                field = np.where(sign == 1, field | ~mask, field)
            self.write(L, dst, field.astype(np.uint64).view(np.int64 if t[0] == "s" else np.uint64)
                       .astype(_INT_TYPES[t]), t, sel)
        return run

    def op_popc(self, instr, parts):
        t = parts[-1]

        def count(a):
            bits = a.view(unsigned_of(t)).astype(np.uint64)
            total = np.zeros(bits.shape, np.uint64)
            for _ in range(8 * type_bytes(t)):
                total += bits & np.uint64(1)
                bits = bits >> np.uint64(1)
            return total.astype(np.uint32)
        return self.elementwise(instr, t, count, result_type="u32")

    def op_selp(self, instr, parts):
        t = parts[-1]
        dst, a, b, p = instr.operands

        def run(L, sel):
            value = np.where(self.read(L, p, "pred", sel), self.read(L, a, t, sel),
                             self.read(L, b, t, sel))
            self.write(L, dst, value, t, sel)
        return run

    def op_setp(self, instr, parts):
        compare, t = parts[1], parts[-1]
        combine = parts[2] if len(parts) == 4 else None
        dst, a, b = instr.operands[:3]
        extra = instr.operands[3] if len(instr.operands) > 3 else None
        if t.startswith("b"):
            t = "u" + t[1:]
        tests = {
            "eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
            "gt": np.greater, "ge": np.greater_equal, "lo": np.less, "ls": np.less_equal,
            "hi": np.greater, "hs": np.greater_equal,
        }

        def test(x, y):
            if compare in tests:
                result = tests[compare](x, y)
                if compare == "ne" and t in _FLOAT_TYPES:
                    result &= ~(np.isnan(x) | np.isnan(y))
                return result
            if compare == "nan":
                return np.isnan(x) | np.isnan(y)
            if compare == "num":
                return ~(np.isnan(x) | np.isnan(y))
            base = tests[compare[:-1]]  # equ, neu, ltu, ...: true when unordered
            return base(x, y) | np.isnan(x) | np.isnan(y)

        targets = dst.value if dst.kind == "pair" else [dst]

        def run(L, sel):
            with np.errstate(all="ignore"):
                result = test(self.read(L, a, t, sel), self.read(L, b, t, sel))
            results = [result, ~result]
            if combine:
                c = self.read(L, extra, "pred", sel)
                op = {"and": np.logical_and, "or": np.logical_or, "xor": np.logical_xor}[combine]
                results = [op(r, c) for r in results]
            for target, value in zip(targets, results):
                self.write(L, target, value, "pred", sel)
        return run

    def op_cvt(self, instr, parts):
        modes = [p for p in parts[1:-2] if p not in ("ftz", "sat")]
        saturate = "sat" in parts
        to_type, from_type = parts[-2], parts[-1]
        if to_type in ("f16x2", "bf16x2"):
            return self.convert_pair(instr, to_type[:-2])
        dst, src = instr.operands

        def convert(value):
            if from_type == "bf16":
                value = bf16_bits_to_f32(value)
            floating_in = from_type in _FLOAT_TYPES or from_type == "bf16"
            if to_type == "bf16":
                return f32_to_bf16_bits(value.astype(np.float32))
            if to_type in _FLOAT_TYPES:
                result = value.astype(np.float64) if floating_in else value
                if floating_in and modes:
                    rounding = {"rni": np.rint, "rzi": np.trunc, "rmi": np.floor,
                                "rpi": np.ceil}.get(modes[0])
                    if rounding:
                        result = rounding(result)
                result = np.asarray(result).astype(_FLOAT_TYPES[to_type])
                if saturate:
                    result = np.clip(np.nan_to_num(result, nan=0.0), 0, 1).astype(result.dtype)
                return result
            if floating_in:  # float -> int: round, then clamp to the range
                rounding = {"rni": np.rint, "rzi": np.trunc, "rmi": np.floor,
                            "rpi": np.ceil}[modes[0]]
                info = np.iinfo(_INT_TYPES[to_type])
                result = np.clip(np.nan_to_num(rounding(value.astype(np.float64)), nan=0.0),
                                 info.min, info.max)
                return result.astype(_INT_TYPES[to_type])
            return value.astype(_INT_TYPES[to_type])

        def run(L, sel):
            with np.errstate(all="ignore"):
                self.write(L, dst, convert(self.read(L, src, from_type, sel)), to_type, sel)
        return run

    def convert_pair(self, instr, half_type):
        """cvt.rn.{f16,bf16}x2.f32 d, a, b: a rounded into the upper half of
        d, b into the lower."""
        dst, a, b = instr.operands

        def bits(values):
            if half_type == "bf16":
                return f32_to_bf16_bits(values).astype(np.uint64)
            return values.astype(np.float16).view(np.uint16).astype(np.uint64)

        def run(L, sel):
            upper = bits(self.read(L, a, "f32", sel))
            lower = bits(self.read(L, b, "f32", sel))
            L.reg(dst.value)[sel] = (upper << np.uint64(16)) | lower
        return run

    def op_ex2(self, instr, parts):
        return self.elementwise(instr, parts[-1], np.exp2)

    def op_lg2(self, instr, parts):
        return self.elementwise(instr, parts[-1], np.log2)

    def op_rcp(self, instr, parts):
        return self.elementwise(instr, parts[-1], lambda a: (1 / a).astype(a.dtype))

    def op_sqrt(self, instr, parts):
        return self.elementwise(instr, parts[-1], np.sqrt)

    # Warp collectives.

    def warp_collective(self, instr, body, mask_operand):
        """Runs `body(L, sel, lanes)` once every lane of each warp's member
        mask is among `sel`."""
        def run(L, sel):
            lanes = lanes_of(sel, L.size)
            membermask = int(self.read(L, mask_operand, "u32", sel).flat[0])
            warps = np.unique(lanes // 32)
            present = np.zeros((L.size // 32, 32), bool)
            present[lanes // 32, lanes % 32] = True
            live = (L.state != EXITED).reshape(-1, 32)
            wanted = np.array([(membermask >> i) & 1 for i in range(32)], bool)
            missing = wanted & live[warps] & ~present[warps]
            if missing.any():
                raise EmulationError(
                    f"{self.kernel.name} line {instr.line}: `{instr.text}` with lanes of "
                    "its member mask not converged")
            body(L, sel, lanes)
        run.collective = True
        return run

    def op_shfl(self, instr, parts):
        mode = parts[2]
        dst, a, b, c, mask = instr.operands
        targets = dst.value if dst.kind == "pair" else [dst]

        def body(L, sel, lanes):
            lane = lanes % 32
            bval = self.read(L, b, "u32", sel).astype(np.int64) & 31
            cval = self.read(L, c, "u32", sel).astype(np.int64)
            segmask = (cval >> 8) & 31
            max_lane = (lane & segmask) | (cval & 31 & ~segmask)
            min_lane = lane & segmask
            if mode == "up":
                j = lane - bval
                valid = j >= max_lane
            elif mode == "down":
                j = lane + bval
                valid = j <= max_lane
            elif mode == "bfly":
                j = lane ^ bval
                valid = j <= max_lane
            else:
                j = min_lane | (bval & ~segmask)
                valid = j <= max_lane
            j = np.where(valid, j, lane)
            if a.kind == "reg":
                values = L.reg(a.value)[lanes - lane + j] & M32
            else:
                values = np.broadcast_to(self.read_bits(L, a, sel), lanes.shape) & M32
            L.reg(targets[0].value)[sel] = values
            if len(targets) > 1:
                self.write(L, targets[1], valid, "pred", sel)
        return self.warp_collective(instr, body, mask)

    def op_match(self, instr, parts):
        t = parts[-1]
        dst, a, mask = instr.operands

        def body(L, sel, lanes):
            values = np.zeros(L.size, np.uint64)
            values[lanes] = to_bits(self.read(L, a, t, sel), t)
            present = np.zeros(L.size, bool)
            present[lanes] = True
            grid = values.reshape(-1, 32)[lanes // 32]
            here = present.reshape(-1, 32)[lanes // 32]
            same = (grid == values[lanes][:, None]) & here
            weights = (np.uint64(1) << np.arange(32, dtype=np.uint64))
            result = (same.astype(np.uint64) * weights).sum(axis=1)
            L.reg(dst.value)[sel] = result & M32
        return self.warp_collective(instr, body, mask)

    def op_mma(self, instr, parts):
        """mma.sync.aligned row.col: m16n8k16 with f16 or bf16 multiplicands
        (two per register), m16n8k8 with tf32 (one per register, of which
        only the upper 19 bits count: the rest of an f32 is cut off)."""
        shape, in_type = parts[3], parts[7]
        if parts[4:6] != ["row", "col"] or (shape, in_type) not in (
                ("m16n8k16", "f16"), ("m16n8k16", "bf16"), ("m16n8k8", "tf32")):
            return self.unsupported(instr)
        depth = int(shape.split("k")[1])
        d, a, b, c = instr.operands

        def b_row(r, h):
            """Row (k) of value h of B register r; its column is the group."""
            if in_type == "tf32":
                return _QUAD + 4 * r
            return _QUAD * 2 + 8 * r + h

        def body(L, sel, lanes):
            if len(lanes) % 32:
                raise EmulationError(f"{self.kernel.name}: mma.sync on a partial warp")
            A = a_matrix(L, a.value, lanes, in_type)
            bv = multiplicands(L, b.value, lanes, in_type)
            cv = np.stack([self.read(L, r, "f32", sel) for r in c.value], axis=-1) \
                .reshape(-1, 32, 4)
            B = np.zeros((A.shape[0], depth, 8), np.float64)
            for r in range(bv.shape[2]):
                for h in range(bv.shape[3]):
                    B[:, b_row(r, h), _GROUP] = bv[:, :, r, h]
            D = np.einsum("wmk,wkn->wmn", A, B)
            result = (accumulators(D, 4) + cv).astype(np.float32).reshape(-1, 4)
            for r, reg in enumerate(d.value):
                self.write(L, reg, result[:, r], "f32", sel)
        return self.warp_collective(instr, body, Operand("imm", 0xFFFFFFFF))

    def op_griddepcontrol(self, instr, parts):
        """griddepcontrol.wait: the kernels before this one on the stream
        have ended (the emulator runs launches one after the other), so
        the thread may touch global memory; launch_dependents changes
        nothing here."""
        waits = parts[1] == "wait"

        def run(L, sel):
            if waits:
                L.waited[sel] = True
        return run

    def op_fence(self, instr, parts):
        """fence.proxy.async[.shared::cta]: orders the thread's shared-memory
        writes before later reads through the async proxy (wgmma)."""
        if parts[1:3] != ["proxy", "async"]:
            return self.unsupported(instr)

        def run(L, sel):
            L.fence_proxy_async(lanes_of(sel, L.size))
        return run

    def op_wgmma(self, instr, parts):
        """Warpgroup mma (sm_90a), run warp by warp: a warp's rows of
        wgmma.mma_async.m64nNk16 come from its own A registers and the
        shared B operand alone. f16 or bf16 A in registers (the warp's 16
        of the warpgroup's 64 rows, in mma.sync's m16n8k16 layout), B in
        shared memory by descriptor (K-major core matrices, no swizzle),
        f32 accumulators (mma.sync's m16n8 layout, one 8-column tile after
        the other). Each mma_async completes here as it issues; on a GPU
        as late as the wait_group that covers it, so code must read its
        results after that wait (not checked). fence, commit_group and
        wait_group order nothing here; all are collectives of the warp."""
        full_mask = Operand("imm", 0xFFFFFFFF)
        if parts[1] in ("fence", "commit_group", "wait_group"):
            return self.warp_collective(instr, lambda L, sel, lanes: None, full_mask)
        shape = next((p for p in parts if p.startswith("m64n")), None)
        types = parts[-3:]
        if (parts[1] != "mma_async" or shape is None or types[0] != "f32"
                or types[1] != types[2] or types[1] not in ("f16", "bf16")
                or len(instr.operands) != 7 or instr.operands[1].kind != "vec"):
            return self.unsupported(instr)
        d, a, descriptor, scale_d, scale_a, scale_b, transpose_b = instr.operands
        if any(op.kind != "imm" for op in (scale_a, scale_b, transpose_b)) or \
                (scale_a.value, scale_b.value, transpose_b.value) != (1, 1, 0):
            return self.unsupported(instr)  # negated or N-major operands
        columns = int(shape[4:].split("k")[0])
        in_type = types[1]
        k = np.arange(16)[:, None]
        n = np.arange(columns)[None, :]
        # Byte of B element (k, n) past the start address, per leading and
        # stride byte offset: core matrix (k / 8, n / 8), row n % 8.
        core = (n % 8) * 16 + (k % 8) * 2

        def body(L, sel, lanes):
            if len(lanes) % 32:
                raise EmulationError(f"{self.kernel.name}: wgmma on a partial warp")
            first = lanes[::32]
            bits = L.reg(descriptor.value)[lanes].reshape(-1, 32)
            if (bits != bits[:, :1]).any():
                raise EmulationError(f"{self.where(instr)}: descriptor differs "
                                     "between the lanes of a warp")
            desc = bits[:, 0].astype(np.int64)
            if ((desc >> 49) & 0x7).any() or ((desc >> 62) & 0x3).any():
                raise EmulationError(f"{self.where(instr)}: only descriptors without "
                                     "swizzle or base offset are emulated")
            start = (desc & 0x3FFF) << 4
            leading = ((desc >> 16) & 0x3FFF) << 4
            stride = ((desc >> 32) & 0x3FFF) << 4
            address = (start[:, None, None] + (k // 8) * leading[:, None, None]
                       + (n // 8) * stride[:, None, None] + core)
            offsets = address - SHARED_BASE
            ok = np.zeros(offsets.shape, bool)
            for base, size in self.kernel.shared.values():
                ok |= (offsets >= base) & (offsets + 2 <= base + size)
            if not ok.all():
                raise EmulationError(f"{self.where(instr)}: B operand outside every "
                                     "shared variable")
            offsets = offsets + (L.block_in_batch[first] * self.kernel.shared_bytes)[:, None, None]
            if L.unfenced[offsets.ravel() // 4].any():
                raise EmulationError(
                    f"{self.where(instr)}: B operand written through the generic proxy "
                    "with no fence.proxy.async between the write and this read")
            # Each element of B counts as read by a lane of the warp.
            readers = np.repeat(first, offsets[0].size) + np.tile(
                np.arange(offsets[0].size) % 32, len(first))
            L.check_race(readers, offsets.ravel(), 2, False, self.where(instr))
            if self.count_bank_conflicts:
                # A warpgroup reads B once: a quarter of it per warp.
                taken = len(first) * 16 * columns * 2 // 128 // 4
                self.wavefronts += taken
                self.ideal_wavefronts += taken
                self.wavefronts_by_line[instr.line] += taken
            raw = L.shared.view(np.uint16)[offsets // 2]
            B = (bf16_bits_to_f32(raw) if in_type == "bf16"
                 else raw.view(np.float16).astype(np.float32)).astype(np.float64)
            D = np.einsum("wmk,wkn->wmn", a_matrix(L, a.value, lanes, in_type), B)
            out = accumulators(D, len(d.value))
            accumulate = np.broadcast_to(self.read(L, scale_d, "pred", sel),
                                         (len(lanes),)).reshape(-1, 32, 1)
            previous = np.stack([self.read(L, r, "f32", sel) for r in d.value], axis=-1) \
                .reshape(-1, 32, len(d.value))
            result = np.where(accumulate, out + previous, out).astype(np.float32) \
                .reshape(-1, len(d.value))
            for r, reg in enumerate(d.value):
                self.write(L, reg, result[:, r], "f32", sel)
        return self.warp_collective(instr, body, full_mask)

    # -- running ------------------------------------------------------------

    def run(self, L):
        """Runs the lanes at the lowest-ranked pc (schedule_priority) until
        every lane exits. Lanes that reach a warp collective or bar.sync wait
        there; when no lane can run, the lowest-ranked collective runs for
        the lanes waiting at it (each warp's member-mask lanes must all be
        there), else the barrier releases everyone waiting at one."""
        ops = self.ops
        code = self.kernel.code
        size = L.size
        full = slice(None)

        priority = self.priority

        def at(mask):
            pc = int(L.pc[mask][np.argmin(priority[L.pc[mask]])])
            here = mask & (L.pc == pc)
            return pc, (full if int(here.sum()) == size else np.nonzero(here)[0])

        def count(pc, sel):
            if isinstance(sel, slice):
                self.issued[pc] += size // 32
                self.executed[pc] += size
            else:
                self.issued[pc] += np.unique(sel >> 5).size
                self.executed[pc] += sel.size

        while True:
            runnable = L.state == RUNNING
            if not runnable.any():
                collective = L.state == AT_COLLECTIVE
                if collective.any():
                    pc, sel = at(collective)
                    count(pc, sel)
                    ops[pc](L, sel)
                    L.pc[sel] += 1
                    L.state[sel] = RUNNING
                    continue
                waiting = L.state == AT_BARRIER
                if not waiting.any():
                    return
                L.block_epoch[np.unique(L.block_in_batch[waiting])] += 1
                if self.track_round_trips:
                    blocks = L.block_in_batch[waiting]
                    slowest = np.zeros(L.block_epoch.size, np.int64)
                    np.maximum.at(slowest, blocks, L.clock[waiting])
                    L.clock[waiting] = L.block_clock[waiting] = slowest[blocks]
                L.pc[waiting] += 1
                L.state[waiting] = RUNNING
                continue
            pc, sel = at(runnable)
            instr = code[pc]
            if self.track_round_trips:
                self.time(L, pc, sel)
            if instr.guard is not None:
                taken = self.read(L, instr.guard, "pred", sel)
                if not taken.all():
                    lanes = lanes_of(sel, size)
                    L.pc[lanes[~taken]] += 1
                    sel = lanes[taken]
                    if sel.size == 0:
                        continue
            if pc in self.collectives:
                L.state[sel] = AT_COLLECTIVE
                continue
            count(pc, sel)
            if not ops[pc](L, sel):
                L.pc[sel] += 1

    def time(self, L, pc, sel):
        """Advances the round-trip clocks of the lanes `sel` over the
        instruction at `pc` (see the class comment)."""
        if self.leader[pc]:
            L.block_clock[sel] = L.clock[sel]
        operands = [L.ready[name][sel] for name in self.sources[pc] if name in L.ready]
        done = np.maximum.reduce([L.block_clock[sel]] + operands)
        if self.async_copies[pc]:
            # The bytes arrive a round trip later; the thread waits for
            # them at cp.async.wait_group (Launch.complete_copies).
            L.copy_ready[sel] = done + 1
        if self.loads[pc]:
            done = done + 1
        elif not self.copies[pc]:
            L.clock[sel] = np.maximum(L.clock[sel], done)
        for name in self.destinations[pc]:
            ready = L.ready.get(name)
            if ready is None:
                ready = L.ready[name] = np.zeros(L.size, np.int64)
            ready[sel] = done


class Emulator:
    """Modules, functions and device memory of the fake CUDA driver."""

    def __init__(self, memory_bytes=1 << 30, lanes_per_batch=1 << 14, fault_kernel=None,
                 hang_kernel=None):
        self.memory = Memory(memory_bytes)
        self.modules = {}
        # Per module, its `.global` variables' bytes (parse_globals), at
        # host addresses as the emulated device memory is.
        self.globals = {}
        self.functions = {}
        self.lanes_per_batch = lanes_per_batch
        self.launches = 0
        # Launches with programmatic stream serialization (cuLaunchKernelEx).
        self.dependent_launches = 0
        # A fault inside a kernel loses the context, as on a GPU: every
        # later driver call fails (`lost` says why). `fault_kernel` names a
        # kernel whose launches fault, to test what callers do then.
        self.lost = None
        self.fault_kernel = fault_kernel
        # `hang_kernel` names a kernel whose launches never return, as a GPU
        # kernel that never ends blocks its caller in the driver.
        self.hang_kernel = hang_kernel
        # Count memory round trips and shared-memory bank conflicts in the
        # kernels loaded from now on (slower).
        self.track_round_trips = False
        self.count_bank_conflicts = False

    def load_module(self, image):
        if image[:4] == b"\x7fELF":
            raise EmulationError("the emulator runs PTX, not cubin: build the kernels "
                                 "with format=isa (libchunkkv_cuda_ptx.so)")
        handle = len(self.modules) + 1
        ptx = image.split(b"\0", 1)[0].decode()
        self.modules[handle] = parse_module(ptx)
        self.globals[handle] = parse_globals(ptx)
        return handle

    def get_global(self, module, name):
        """(address, bytes) of the module's global `name`, or None."""
        data = self.globals[module].get(name)
        return None if data is None else (data.ctypes.data, data.size)

    def get_function(self, module, name):
        kernel = self.modules[module].get(name)
        if kernel is None:
            raise EmulationError(f"no kernel {name} in module {module}")
        handle = len(self.functions) + 1
        self.functions[handle] = Executor(kernel, self.track_round_trips,
                                          self.count_bank_conflicts)
        return handle

    def set_max_dynamic_shared(self, function, size):
        """cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES): how much dynamic
        shared memory launches of `function` may ask for."""
        kernel = self.functions[function].kernel
        if size < 0 or kernel.static_bytes + size > MAX_SHARED_PER_BLOCK:
            raise EmulationError(
                f"{kernel.name}: {size} bytes of dynamic shared memory with "
                f"{kernel.static_bytes} static exceed the {MAX_SHARED_PER_BLOCK} of a block")
        self.functions[function].max_dynamic_shared = size

    def launch(self, function, grid, block, params, shared_bytes=0, dependent=False):
        """Runs the kernel `function` on `grid` blocks of `block` threads
        with the parameter bytes `params` and `shared_bytes` of dynamic
        shared memory, which must fit what the kernel allows: without
        set_max_dynamic_shared, 48 KiB less its static shared memory, as
        on a GPU. `dependent`: launched with programmatic stream
        serialization (see Launch)."""
        executor = self.functions[function]
        allowed = executor.max_dynamic_shared
        if allowed is None:
            allowed = max(0, DEFAULT_SHARED_PER_BLOCK - executor.kernel.static_bytes)
        if shared_bytes > allowed:
            raise EmulationError(
                f"{executor.kernel.name}: the launch asks for {shared_bytes} bytes of "
                f"dynamic shared memory, the kernel allows {allowed} ({executor.kernel.static_bytes} "
                f"static; above {DEFAULT_SHARED_PER_BLOCK} in all a block needs "
                "cuFuncSetAttribute(CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES))")
        executor.kernel.set_dynamic_shared(shared_bytes)
        threads = block[0] * block[1] * block[2]
        blocks = grid[0] * grid[1] * grid[2]
        per_batch = max(1, self.lanes_per_batch // ((threads + 31) // 32 * 32))
        self.launches += 1
        self.dependent_launches += bool(dependent)
        executor.launches += 1
        executor.blocks += blocks
        round_trips = 0
        try:
            if executor.kernel.name == self.fault_kernel:
                raise EmulationError(f"{executor.kernel.name}: injected fault")
            while executor.kernel.name == self.hang_kernel:
                time.sleep(1)
            for first in range(0, blocks, per_batch):
                count = min(per_batch, blocks - first)
                launch = Launch(executor.kernel, self.memory, params, grid, block, first, count,
                                dependent)
                executor.run(launch)
                round_trips = max(round_trips, int(launch.clock.max(initial=0)))
        except EmulationError as error:
            self.lost = str(error)
            raise
        executor.round_trips += round_trips


    def shared_lines(self, kernel_name, count):
        """The `count` PTX lines of kernel `kernel_name` whose shared-memory
        accesses took the most wavefronts over every launch so far (counted
        where count_bank_conflicts is on): (line, instruction text,
        wavefronts, of those bank conflicts), most first."""
        wavefronts, conflicts, texts = collections.Counter(), collections.Counter(), {}
        for executor in self.functions.values():
            if executor.kernel.name != kernel_name:
                continue
            wavefronts.update(executor.wavefronts_by_line)
            conflicts.update(executor.conflicts_by_line)
            texts.update((instr.line, instr.text) for instr in executor.kernel.code)
        return [(line, texts[line], taken, conflicts[line])
                for line, taken in wavefronts.most_common(count)]

    def profile(self):
        """Dynamic counts per kernel name, summed over every launch so far:
        launches, blocks, warp instructions, mma.sync (and each warp's part
        of a wgmma.mma_async, in m16n8k16 units), MUFU thread
        instructions (ex2, lg2, rcp, sqrt), global bytes read and written,
        shared-memory warp accesses, bar.sync per warp, atomics, and (where
        counted, see Executor) memory round trips: per launch the most of any
        thread, summed over launches, as a stream runs them one after
        another; shared-memory wavefronts and, of those, the ones beyond the
        fewest the accesses could take (bank conflicts, shared_wavefronts)."""
        totals = {}
        for executor in self.functions.values():
            row = totals.setdefault(executor.kernel.name, dict(
                launches=0, blocks=0, warp_instructions=0, mma=0, mufu=0,
                global_read=0, global_written=0, shared_accesses=0, barriers=0, atomics=0,
                round_trips=0, shared_wavefronts=0, bank_conflicts=0))
            row["launches"] += executor.launches
            row["round_trips"] += executor.round_trips
            row["blocks"] += executor.blocks
            row["warp_instructions"] += int(executor.issued.sum())
            row["global_read"] += executor.copied_bytes
            row["shared_wavefronts"] += executor.wavefronts
            row["bank_conflicts"] += executor.wavefronts - executor.ideal_wavefronts
            for instr, issued, executed in zip(executor.kernel.code, executor.issued,
                                               executor.executed):
                head, parts = instr.parts[0], instr.parts
                if head == "mma":
                    row["mma"] += int(issued)
                elif head == "wgmma" and parts[1] == "mma_async":
                    # A warp's share, 16 rows of m64nNk16: N / 8 m16n8k16.
                    shape = next(p for p in parts if p.startswith("m64n"))
                    row["mma"] += int(issued) * int(shape[4:].split("k")[0]) // 8
                elif head in ("ex2", "lg2", "rcp", "sqrt"):
                    row["mufu"] += int(executed)
                elif head == "bar" and parts[1] != "warp":
                    row["barriers"] += int(issued)
                elif copies_async(instr):
                    row["shared_accesses"] += int(issued)
                elif head in ("ld", "st", "atom", "red"):
                    vector = next((int(p[1:]) for p in parts if re.fullmatch(r"v\d", p)), 1)
                    width = type_bytes(parts[-1]) * vector
                    if "shared" in parts:
                        row["shared_accesses"] += int(issued)
                    elif "global" in parts:
                        key = "global_read" if head == "ld" else "global_written"
                        row[key] += int(executed) * width
                    if head in ("atom", "red"):
                        row["atomics"] += int(executed)
        return totals


# ----------------------------------------------------------------------------
# The fake driver
# ----------------------------------------------------------------------------

_ALLOC = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_uint64, ctypes.POINTER(ctypes.c_uint64))
_FREE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_uint64)
_LOAD = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint64))
_GET = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_uint64, ctypes.c_char_p,
                        ctypes.POINTER(ctypes.c_uint64))
_LAUNCH = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_uint64, ctypes.POINTER(ctypes.c_uint),
                           ctypes.POINTER(ctypes.c_uint), ctypes.c_uint,
                           ctypes.POINTER(ctypes.c_void_p), ctypes.c_int)
_SET_MAX_DYNAMIC_SHARED = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_uint64, ctypes.c_int)
_GET_GLOBAL = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_uint64, ctypes.c_char_p,
                               ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(ctypes.c_uint64))


class _Hooks(ctypes.Structure):
    _fields_ = [("alloc", _ALLOC), ("free", _FREE), ("loadModule", _LOAD),
                ("getFunction", _GET), ("launch", _LAUNCH),
                ("setMaxDynamicShared", _SET_MAX_DYNAMIC_SHARED),
                ("getGlobal", _GET_GLOBAL)]


CUDA_ERROR_NOT_FOUND = 500
CUDA_ERROR_LAUNCH_FAILED = 719
_installed = None


def install(driver_path, **options):
    """Loads the fake libcuda.so.1 at `driver_path` and routes it to a new
    Emulator; call before anything opens libcuda.so.1. Returns the Emulator.
    $PTX_EMULATOR_FAULT names a kernel whose launches fault (Emulator's
    fault_kernel) and $PTX_EMULATOR_HANG one whose launches never return
    (hang_kernel), unless `options` name them."""
    global _installed
    if _installed is not None:
        return _installed[0]
    options.setdefault("fault_kernel", os.environ.get("PTX_EMULATOR_FAULT"))
    options.setdefault("hang_kernel", os.environ.get("PTX_EMULATOR_HANG"))
    emulator = Emulator(**options)
    driver = ctypes.CDLL(os.path.abspath(driver_path), mode=ctypes.RTLD_GLOBAL)
    driver.chunkkvEmulatorSetError.argtypes = [ctypes.c_char_p]

    def guarded(function):
        def call(*args):
            try:
                if emulator.lost:
                    raise EmulationError(f"the context was lost: {emulator.lost}")
                return function(*args) or 0
            except Exception as error:  # reported through cuGetErrorString
                if os.environ.get("PTX_EMULATOR_TRACEBACK"):
                    traceback.print_exc()
                message = f"{type(error).__name__}: {error}"
                driver.chunkkvEmulatorSetError(message.encode())
                return CUDA_ERROR_LAUNCH_FAILED
        return call

    def alloc(size, out):
        out[0] = emulator.memory.alloc(size)

    def free(address):
        emulator.memory.free(address)

    def load(image, out):
        # The image is NUL-terminated PTX (or a cubin, refused by load_module).
        out[0] = emulator.load_module(ctypes.string_at(image, 4) if
                                      ctypes.string_at(image, 4) == b"\x7fELF"
                                      else ctypes.string_at(image))

    def get(module, name, out):
        out[0] = emulator.get_function(module, name.decode())

    def launch(function, grid, block, shared_bytes, params, dependent):
        kernel = emulator.functions[function].kernel
        values = [ctypes.string_at(params[i], size) for i, (_, size) in enumerate(kernel.params)]
        emulator.launch(function, tuple(grid[:3]), tuple(block[:3]), values, shared_bytes,
                        bool(dependent))

    def get_global(module, name, address, size):
        found = emulator.get_global(module, name.decode())
        if found is None:
            return CUDA_ERROR_NOT_FOUND
        address[0], size[0] = found
        return 0

    hooks = _Hooks(_ALLOC(guarded(alloc)), _FREE(guarded(free)), _LOAD(guarded(load)),
                   _GET(guarded(get)), _LAUNCH(guarded(launch)),
                   _SET_MAX_DYNAMIC_SHARED(guarded(emulator.set_max_dynamic_shared)),
                   _GET_GLOBAL(guarded(get_global)))
    driver.chunkkvEmulatorSetHooks(ctypes.byref(hooks))
    _installed = (emulator, driver, hooks)
    return emulator
