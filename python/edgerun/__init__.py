"""edgerun: on-device neural-network inference runtime.

    import numpy as np, edgerun
    session = edgerun.Session("models/demo_cnn.onnx")
    print(session.inputs)                       # [IoInfo(name='image', dtype='float32', ...)]
    (probabilities,) = session.run({"image": np.zeros((1, 3, 32, 32), np.float32)})
    print(session.capabilities()["placements"])

Runtime failures raise EdgerunError (a RuntimeError) whose .code is the runtime's status code
("invalid_argument", "unsupported", ...) and whose message names the node, op or tensor.
"""
from collections import namedtuple
import json
import os

# libgomp (OpenMP under oneDNN) reads its wait policy when it loads, which is when the extension
# below loads unless something imported earlier brought it in. Its default spins idle threads,
# taking a shared machine's cores from the thread running the model; see the README's threading
# section. A policy the caller set is kept.
if "GOMP_SPINCOUNT" not in os.environ:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from ._edgerun import EdgerunError, _Session, __version__

__all__ = ["EdgerunError", "IoInfo", "Session", "__version__"]

IoInfo = namedtuple("IoInfo", ["name", "kind", "dtype", "shape", "type"])
IoInfo.__doc__ = """One model input or output.

kind is "tensor", "sequence" or "optional"; dtype is a numpy dtype name (for sequences and
optionals, that of the tensors inside); shape lists ints for fixed dims, the symbol (a str) for
symbolic dims and None for unnamed unknown dims, or is None when the model declares no shape."""

COMPUTE_UNITS = ("all", "cpu_only", "cpu_and_gpu", "cpu_and_ne")


class Session:
    """A model prepared once and run many times (like onnxruntime.InferenceSession).

    model: a path to an .onnx file, or its bytes.
    compute_units: "all", "cpu_only", "cpu_and_gpu" or "cpu_and_ne"; a request this machine
        cannot honour falls back and says so in capabilities()["notes"].
    dim_values: values for symbolic dims, fixed for every run, e.g. {"batch": 1}.
    backends: the backends allowed to run nodes, e.g. ["reference"] for exact results; None for
        every backend the compute units allow.
    threads: threads for the oneDNN backend's kernels; 0 (the default) means OMP_NUM_THREADS
        when set, else one per physical core. The reference backend runs on the calling thread.
    A Session may be run from several threads at once; run() releases the GIL while it computes.
    """

    def __init__(self, model, compute_units="all", threads=0, dim_values=None, backends=None):
        if compute_units not in COMPUTE_UNITS:
            raise ValueError(f"compute_units must be one of {COMPUTE_UNITS}, got {compute_units!r}")
        if not isinstance(threads, int) or isinstance(threads, bool) or threads < 0:
            raise ValueError(f"threads must be a non-negative int (0: the default), got {threads!r}")
        self._session = _Session(model if isinstance(model, bytes) else str(model), compute_units,
                                 dict(dim_values or {}), list(backends or []), threads)
        self.inputs = [IoInfo(**spec) for spec in self._session.inputs()]
        self.outputs = [IoInfo(**spec) for spec in self._session.outputs()]

    def get_inputs(self):
        return list(self.inputs)

    def get_outputs(self):
        return list(self.outputs)

    def run(self, feeds, outputs=None):
        """Runs the model on feeds ({input name: numpy array}; a list of arrays for a sequence
        input, None for an empty optional) and returns the outputs named in `outputs` (default:
        all, in model order) as numpy arrays (a list of arrays for a sequence, None for an empty
        optional)."""
        if not isinstance(feeds, dict):
            raise TypeError(f"feeds must be a dict of input name -> numpy array, got {type(feeds).__name__}")
        if isinstance(outputs, str):
            outputs = [outputs]
        return self._session.run(feeds, None if outputs is None else list(outputs))

    def capabilities(self):
        """What runs where: requested and actual compute units, backends, notes, placements."""
        return json.loads(self._session.capabilities_json())
