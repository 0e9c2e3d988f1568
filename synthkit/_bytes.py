"""Unaligned 8-byte loads and stores for the compiled kernels.

Numba has no unaligned word access, and copying byte by byte (or calling memcpy for a dozen
bytes) costs 2-3x more than moving 8 bytes at once; these intrinsics emit plain LLVM
loads/stores with alignment 1. Callers keep 8 bytes of slack after every buffer they use
them on, because a copy may run up to 7 bytes past its end (later writes overwrite it).
"""

from __future__ import annotations

from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic


@intrinsic
def _load_u64(typingctx, arr, pos):
    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = builder.gep(ary.data, [args[1]])
        word = builder.bitcast(ptr, ir.IntType(64).as_pointer())
        load = builder.load(word)
        load.align = 1
        return load

    return types.uint64(arr, pos), codegen


@intrinsic
def _store_u64(typingctx, arr, pos, value):
    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = builder.gep(ary.data, [args[1]])
        word = builder.bitcast(ptr, ir.IntType(64).as_pointer())
        store = builder.store(args[2], word)
        store.align = 1
        return context.get_dummy_value()

    return types.void(arr, pos, value), codegen


@njit(inline="always", nogil=True, cache=True)
def copy_bytes(out, pos: int, src, start: int, length: int) -> int:
    """Copy ``src[start:start+length]`` to ``out[pos:]`` 8 bytes at a time; returns the new end."""
    i = 0
    while i < length:
        _store_u64(out, pos + i, _load_u64(src, start + i))
        i += 8
    return pos + length
