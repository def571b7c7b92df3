"""The Python package against the bundled demo model and small generated models."""
import os
import subprocess
import sys
import threading

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import edgerun

SOURCE = os.environ.get("EDGERUN_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
DEMO = os.path.join(SOURCE, "models", "demo_cnn.onnx")


def model_bytes(nodes, inputs, outputs, opset=17):
    graph = helper.make_graph(nodes, "t", inputs, outputs)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]).SerializeToString()


def test_demo_model_matches_numpy_reference():
    session = edgerun.Session(DEMO)
    assert session.inputs[0].name == "image"
    assert session.inputs[0].dtype == "float32"
    assert session.inputs[0].shape == ["N", 3, 32, 32]
    assert [o.name for o in session.get_outputs()] == ["probabilities"]
    image = np.load(os.path.join(SOURCE, "models", "demo_cnn.input.npy"))
    expected = np.load(os.path.join(SOURCE, "models", "demo_cnn.expected.npy"))
    (probabilities,) = session.run({"image": image})
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities, expected, rtol=1e-5, atol=1e-6)


def test_outputs_by_name_and_dtypes_round_trip():
    data = model_bytes(
        [helper.make_node("Neg", ["x"], ["neg"]), helper.make_node("Identity", ["x"], ["same"])],
        [helper.make_tensor_value_info("x", TensorProto.INT64, [2])],
        [helper.make_tensor_value_info("neg", TensorProto.INT64, [2]),
         helper.make_tensor_value_info("same", TensorProto.INT64, [2])])
    session = edgerun.Session(data)
    x = np.array([3, -4], dtype=np.int64)
    (same,) = session.run({"x": x}, outputs=["same"])
    x[0] = 100  # the output aliased the input inside the runtime, so it must be a copy
    assert same.tolist() == [3, -4]
    (neg,) = session.run({"x": np.array([1, 2], dtype=np.int64)}, "neg")
    assert neg.dtype == np.int64 and neg.tolist() == [-1, -2]


def test_sequences_and_empty_optionals():
    seq_type = helper.make_sequence_type_proto(helper.make_tensor_type_proto(TensorProto.FLOAT, None))
    opt_type = helper.make_optional_type_proto(helper.make_tensor_type_proto(TensorProto.FLOAT, None))
    data = model_bytes(
        [helper.make_node("SequenceLength", ["s"], ["n"]),
         helper.make_node("OptionalHasElement", ["o"], ["has"])],
        [helper.make_value_info("s", seq_type), helper.make_value_info("o", opt_type)],
        [helper.make_tensor_value_info("n", TensorProto.INT64, []),
         helper.make_tensor_value_info("has", TensorProto.BOOL, [])], opset=18)
    session = edgerun.Session(data)
    assert session.inputs[0].kind == "sequence"
    n, has = session.run({"s": [np.ones(2, np.float32), np.ones(3, np.float32)], "o": None})
    assert int(n) == 2 and bool(has) is False


def test_errors_carry_the_runtime_message_and_code():
    session = edgerun.Session(DEMO)
    with pytest.raises(edgerun.EdgerunError) as wrong_dtype:
        session.run({"image": np.zeros((1, 3, 32, 32), np.float64)})
    assert wrong_dtype.value.code == "invalid_argument"
    assert "input 'image' has dtype float64, expected float32" in str(wrong_dtype.value)
    with pytest.raises(edgerun.EdgerunError, match="dim 2 is 16, expected 32"):
        session.run({"image": np.zeros((1, 3, 16, 32), np.float32)})
    with pytest.raises(edgerun.EdgerunError, match="missing input 'image'"):
        session.run({})
    with pytest.raises(edgerun.EdgerunError, match="unknown output 'logits'"):
        session.run({"image": np.zeros((1, 3, 32, 32), np.float32)}, ["logits"])
    with pytest.raises(edgerun.EdgerunError):
        edgerun.Session(b"not a model")
    with pytest.raises(edgerun.EdgerunError, match="cannot open|No such file|does not exist"):
        edgerun.Session("/nonexistent/model.onnx")
    with pytest.raises(ValueError, match="compute_units"):
        edgerun.Session(DEMO, compute_units="gpu")
    with pytest.raises(ValueError, match="threads"):
        edgerun.Session(DEMO, threads=-1)
    with pytest.raises(TypeError):
        session.run([np.zeros((1, 3, 32, 32), np.float32)])


def test_thread_count_gives_the_same_results():
    image = np.linspace(-1, 1, 3 * 32 * 32, dtype=np.float32).reshape(1, 3, 32, 32)
    one = edgerun.Session(DEMO, threads=1).run({"image": image})[0]
    two = edgerun.Session(DEMO, threads=2).run({"image": image})[0]
    np.testing.assert_allclose(one, two, rtol=1e-5, atol=1e-6)


def test_capabilities_and_dim_values():
    session = edgerun.Session(DEMO, compute_units="cpu_and_gpu", dim_values={"N": 2})
    caps = session.capabilities()
    assert caps["requested"] == "cpu_and_gpu"
    # 11 nodes in the file; prepare folds the BatchNormalization into its Conv.
    assert caps["node_count"] == len(caps["placements"]) == 10
    assert any("cpu_and_gpu" in note for note in caps["notes"])
    with pytest.raises(edgerun.EdgerunError, match="dim 0 is 1, expected 2"):
        session.run({"image": np.zeros((1, 3, 32, 32), np.float32)})


def test_reference_only_backends():
    session = edgerun.Session(DEMO, backends=["reference"])
    caps = session.capabilities()
    assert caps["actual"] == "cpu (reference)"
    assert set(p["backend"] for p in caps["placements"]) == {"reference"}


def test_concurrent_runs_give_the_same_answer():
    session = edgerun.Session(DEMO)
    image = np.load(os.path.join(SOURCE, "models", "demo_cnn.input.npy"))
    (expected,) = session.run({"image": image})
    results = [None] * 8

    def worker(i):
        results[i] = session.run({"image": image})[0]

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(results))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        np.testing.assert_array_equal(r, expected)


def test_openmp_waits_passively_unless_the_caller_chose():
    # Fresh interpreters: the policy is decided when the module loads.
    code = "import os, edgerun; print(os.environ.get('OMP_WAIT_POLICY'))"

    def policy(**env):
        clean = {k: v for k, v in os.environ.items()
                 if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
        result = subprocess.run([sys.executable, "-c", code], env={**clean, **env},
                                capture_output=True, text=True, check=True)
        return result.stdout.strip()

    assert policy() == "PASSIVE"
    assert policy(OMP_WAIT_POLICY="ACTIVE") == "ACTIVE"
    assert policy(GOMP_SPINCOUNT="1000") == "None"
