"""scripts/sass_report.py on a hand-written cuobjdump listing: instructions,
branch targets, innermost loops and the iteration paths through them (the
parts that need no ptxas or cuobjdump)."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
import sass_report  # noqa: E402

# An outer loop (0x10 .. 0xa0) around an inner one (0x20 .. 0x90) with an
# if-else: 0x40 skips three instructions of the then-side, whose end jumps
# over the one-instruction else-side.
LISTING = """
        Function : k
        /*0000*/                   MOV R1, c[0x0][0x28] ;        /* 0x000 */
        /*0010*/                   IADD3 R2, R2, 0x1, RZ ;       /* 0x000 */
        /*0020*/                   LDS R3, [R2] ;                /* 0x000 */
        /*0030*/                   ISETP.GE.AND P0, PT, R3, RZ, PT ; /* 0x000 */
        /*0040*/               @P0 BRA 0x80 ;                    /* 0x000 */
        /*0050*/                   FMUL R4, R3, R3 ;             /* 0x000 */
        /*0060*/                   MUFU.EX2 R4, R4 ;             /* 0x000 */
        /*0070*/                   BRA 0x90 ;                    /* 0x000 */
        /*0080*/                   FADD R4, R3, 1 ;              /* 0x000 */
        /*0090*/              @!P1 BRA 0x20 ;                    /* 0x000 */
        /*00a0*/              @!P2 BRA 0x10 ;                    /* 0x000 */
        /*00b0*/                   EXIT ;                        /* 0x000 */
        /*00c0*/                   BRA 0xc0;                     /* 0x000 */
"""


def test_parse_reads_opcodes_predicates_and_targets():
    code = sass_report.parse(LISTING)
    assert len(code) == 13
    assert code[3][:4] == (0x30, "ISETP", False, None)
    assert code[4][:4] == (0x40, "BRA", True, 0x80)
    assert code[3].writes == frozenset() and code[3].reads == {3}
    assert code[6].opcode == "MUFU"
    assert code[12].target == 0xc0


def test_innermost_loop_and_its_paths():
    code = sass_report.parse(LISTING)
    # The self-branch at 0xc0 is no loop; the outer loop contains the inner.
    assert sass_report.innermost_loops(code) == [(2, 9)]
    # Shortest: 0x20 0x30 0x40 0x80 0x90; longest: through 0x50 0x60 0x70.
    assert sass_report.iteration_paths(code, 2, 9) == ([2, 3, 4, 8, 9],
                                                        [2, 3, 4, 5, 6, 7, 9])


def test_a_loop_entered_in_its_middle_has_no_path():
    code = sass_report.parse(LISTING.replace("@P0 BRA 0x80", "    BRA 0xb0"))
    assert sass_report.iteration_paths(code, 2, 9) == (None, None)


def test_input_without_kernels_is_an_error():
    # Before any ptxas or cuobjdump: the input must hold the PTX of format=isa.
    script = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "sass_report.py")
    done = subprocess.run([sys.executable, script], input="module {}\n",
                          capture_output=True, text=True)
    assert done.returncode != 0
    assert "no such PTX in the input: lower with chunkkv-gpu-pipeline format=isa" in done.stderr


# Four loads: two together, a use of the first, then two more, each used at
# once (the second pair of a 64-bit load); a store reads its operands.
LOADS = """
        /*0000*/                   LDG.E R2, desc[UR4][R10.64] ;          /* 0x000 */
        /*0010*/                   LDG.E.64 R4, desc[UR4][R12.64+0x8] ;   /* 0x000 */
        /*0020*/                   FADD R6, R2, 1 ;                       /* 0x000 */
        /*0030*/                   FADD R7, R5, R6 ;                      /* 0x000 */
        /*0040*/                   LDG.E.128 R16, desc[UR4][R10.64+0x10] ; /* 0x000 */
        /*0050*/                   LDG.E R8, desc[UR4][R14.64] ;          /* 0x000 */
        /*0060*/                   IMAD.MOV.U32 R9, RZ, RZ, R3 ;          /* 0x000 */
        /*0070*/                   STG.E desc[UR4][R14.64], R19 ;         /* 0x000 */
        /*0080*/               @P0 FMUL R9, R8, R8 ;                      /* 0x000 */
        /*0090*/                   EXIT ;                                 /* 0x000 */
"""


def test_operands_name_registers_and_widths():
    code = sass_report.parse(LOADS)
    assert code[1].writes == {4, 5} and code[1].reads == {12, 13}
    assert code[4].writes == {16, 17, 18, 19}
    assert code[7].writes == frozenset() and code[7].reads == {14, 15, 19}


def test_load_waits_count_uses_of_loads_in_flight():
    code = sass_report.parse(LOADS)
    # 0x20 waits for both loads before it; 0x30 reads R5, already back; the
    # store waits for the 128-bit load, and the fmul's R8 came with it.
    assert sass_report.load_waits(code, range(len(code))) == 2
    # Without the store the fmul waits for R8 instead: still two.
    assert sass_report.load_waits(code, [0, 1, 2, 3, 4, 5, 6, 8]) == 2
    # Nothing read after the first wait: one.
    assert sass_report.load_waits(code, [0, 1, 2, 3]) == 1
