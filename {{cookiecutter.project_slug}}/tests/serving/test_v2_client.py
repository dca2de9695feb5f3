"""A real Open Inference Protocol client (tritonclient, nobody here wrote it) against a running server."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pytest
import tritonclient.http as httpclient  # type: ignore[import-untyped]  # no stubs
import uvicorn
from tritonclient import utils

from {{ cookiecutter.package_name }}.model.load import load_model
from {{ cookiecutter.package_name }}.net import free_port, wait_for_health
from {{ cookiecutter.package_name }}.serving.app import create_app
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.tracking.registry import Registry

VERSION = "1"  # the trained project's first version: other tests move its aliases


@pytest.fixture
def server(trained_project: Settings) -> Iterator[str]:
    """The project's server on a free loopback port, serving the trained version; its host:port."""
    model = load_model(trained_project, alias=None, version=VERSION)
    port = free_port()
    config = uvicorn.Config(
        create_app(trained_project, model), host="127.0.0.1", port=port, log_level="warning"
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run)
    thread.start()
    try:
        wait_for_health(f"http://127.0.0.1:{port}/v2/health/ready", timeout=30)
        yield f"127.0.0.1:{port}"
    finally:
        running.should_exit = True
        thread.join(timeout=10)


def test_tritonclient_infers_what_pyfunc_predicts(trained_project: Settings, server: str) -> None:
    """Health, metadata and infer through tritonclient; the answers are pyfunc's predictions."""
    import mlflow
    import pandas as pd

    name = trained_project.model_name
    test = pd.read_csv(trained_project.data_dir / "prepared" / "test.csv").drop(columns=["target"])
    expected = mlflow.pyfunc.load_model(str(Registry.open(trained_project).download(VERSION)))
    client = httpclient.InferenceServerClient(url=server)
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready(name)
    assert client.is_model_ready(name, VERSION)
    assert not client.is_model_ready(name, "999")
    metadata = client.get_model_metadata(name)
    assert [item["name"] for item in metadata["inputs"]] == list(test.columns)
    inputs = []
    for item in metadata["inputs"]:
        values = test[item["name"]].to_numpy(dtype=utils.triton_to_np_dtype(item["datatype"]))
        tensor = httpclient.InferInput(item["name"], [len(values)], item["datatype"])
        inputs.append(tensor.set_data_from_numpy(values, binary_data=False))
    wanted = [httpclient.InferRequestedOutput("predict", binary_data=False)]
    for version in ("", VERSION):
        result = client.infer(name, inputs, model_version=version, outputs=wanted)
        predictions = result.as_numpy("predict")
        assert predictions is not None
        np.testing.assert_array_equal(predictions, np.asarray(expected.predict(test)))
        assert result.get_response()["model_version"] == VERSION
    binary = httpclient.InferInput(inputs[0].name(), [len(test)], inputs[0].datatype())
    binary.set_data_from_numpy(test.iloc[:, 0].to_numpy())  # tritonclient's default: binary tensors
    with pytest.raises(utils.InferenceServerException, match="binary_data=False"):
        client.infer(name, [binary])
    with pytest.raises(utils.InferenceServerException, match="not served here"):
        client.infer(name, inputs, model_version="999")
    client.close()
