"""openblas_core.py — the OpenBLAS core the PyTorch references run on (for their JSON output)."""
import ctypes


def blas_core():
    try:
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib.openblas_get_corename().decode()
    except OSError:
        return "unknown"
