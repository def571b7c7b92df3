#!/usr/bin/python3
"""Writes the .npy fixtures that tests/unit/npy_test.cpp reads, using numpy itself.

Run from anywhere: /usr/bin/python3 tests/data/npy/make_fixtures.py
Values are simple closed forms (arange etc.) so the C++ test can state them exactly.
"""
import os

import numpy as np
from numpy.lib import format as npy_format

HERE = os.path.dirname(os.path.abspath(__file__))


def save(name, array, version=None):
    path = os.path.join(HERE, name)
    if version is None:
        np.save(path, array)
    else:
        with open(path, "wb") as f:
            npy_format.write_array(f, array, version=version)


save("f4_2x3.npy", np.arange(6, dtype="<f4").reshape(2, 3) / 4)
save("i4_be_fortran_2x3.npy",
     np.asfortranarray((np.arange(6).reshape(2, 3) - 2).astype(">i4")))
save("f8_fortran_2x3x4.npy",
     np.asfortranarray(np.arange(24, dtype="<f8").reshape(2, 3, 4)))
save("u2_be_v2.npy", np.array([1, 256, 65535], dtype=">u2"), version=(2, 0))
save("i8_v3.npy", np.array([-(2**40), 7], dtype="<i8"), version=(3, 0))
save("f2_4.npy", np.array([0.5, -2.0, 65504.0, 0.0], dtype="<f2"))
save("b1_5.npy", np.array([True, False, True, True, False]))
save("c16_be_2.npy", np.array([1 + 2j, -3.5 - 0.25j], dtype=">c16"))
save("c8_2.npy", np.array([1 + 2j, -3.5 - 0.25j], dtype="<c8"))
save("str_u_2x2.npy", np.array([["a", "héllo"], ["", "日本語🙂"]]))
save("str_u_be_fortran_2x2.npy",
     np.asfortranarray(np.array([["ab", "c"], ["d", "éf"]], dtype=">U2")))
save("bytes_s_3.npy", np.array([b"ab", b"", b"xyz"]))
save("f4_scalar.npy", np.float32(3.25))
save("f4_0x3.npy", np.zeros((0, 3), dtype="<f4"))
