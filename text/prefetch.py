"""``prefetch_row(matrix, row)``: ask the CPU to start loading a row of a matrix into its caches.

word2vec's updates touch rows of two (V, D) matrices chosen at random (noise words, the
next centre word): each is a cache miss the CPU waits for. The kernels know one word
ahead which rows they will need, so they prefetch them while the current word trains;
that roughly halves the time per word on a corpus whose matrices do not fit the cache.
A prefetch is a hint: it reads and writes nothing and never faults.
"""
from __future__ import annotations

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

LINE_FLOATS = 16  # float32 per 64-byte cache line


@intrinsic
def _prefetch(typingctx, matrix, row, column):
    """Prefetch, for reading and into every cache level, the cache line holding ``matrix[row, column]``."""
    sig = types.void(matrix, row, column)

    def codegen(context, builder, signature, args):
        matrix_type = signature.args[0]
        array = context.make_array(matrix_type)(context, builder, args[0])
        index = [context.cast(builder, value, value_type, types.intp)
                 for value, value_type in zip(args[1:], signature.args[1:])]
        pointer = cgutils.get_item_pointer2(context, builder, array.data, cgutils.unpack_tuple(builder, array.shape),
                                            cgutils.unpack_tuple(builder, array.strides), matrix_type.layout, index,
                                            wraparound=False, boundscheck=False)
        byte_pointer = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        prefetch = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [byte_pointer, i32, i32, i32]),
                                                  "llvm.prefetch.p0")
        # (address, 0: for reading, 3: keep in all cache levels, 1: data)
        builder.call(prefetch, [builder.bitcast(pointer, byte_pointer), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return sig, codegen


@njit(inline="always", nogil=True, cache=True)
def prefetch_row(matrix, row):
    """Prefetch every cache line of ``matrix[row]`` (a row of a C-contiguous 2-D array; ``row`` must be valid)."""
    for column in range(0, matrix.shape[1], LINE_FLOATS):
        _prefetch(matrix, row, column)
    _prefetch(matrix, row, matrix.shape[1] - 1)  # a row need not start on a line: its end may be one more


__all__ = ["prefetch_row"]
