"""The OpenAPI documentation of the Open Inference Protocol's routes (describe, never parse).

The document states the JSON form of an infer request. The binary tensor data extension (an
``Inference-Header-Content-Length`` header, then raw tensor bytes after the JSON) is a body
OpenAPI cannot state; the infer operations describe it in words, and the binary answer it
leads to is listed as ``application/octet-stream``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from servekit.inference.openapi import TensorValue
from servekit.transports.rest.docs import Body, Operation, header, omittable, path_parameter
from servekit.v2.request import UNSUPPORTED_PARAMETERS
from servekit.v2.shapes import DTYPES

__all__ = ["OPERATIONS", "V2ErrorResponse"]

Datatype = Annotated[str, Field(json_schema_extra={"enum": sorted(DTYPES)})]
Size = Annotated[int, Field(ge=0)]


class V2ErrorResponse(Body):
    error: str = Field(description="What is wrong, naming the input, output or field.")


def _parameters_schema(*refused: str) -> Any:
    def extra(schema: dict[str, Any]) -> None:
        schema["additionalProperties"] = {
            "anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]
        }
        schema["propertyNames"] = {"not": {"enum": sorted({*UNSUPPORTED_PARAMETERS, *refused})}}

    return extra


class RequestParameters(BaseModel):
    """Request parameters: strings, numbers or booleans; others than these are ignored."""

    model_config = ConfigDict(extra="allow", json_schema_extra=_parameters_schema())
    binary_data_output: bool = omittable(
        description="Answer every output not asked otherwise in binary (the extension)."
    )


class InputParameters(BaseModel):
    """Input parameters (binary_data_size only comes with the binary extension's header)."""

    model_config = ConfigDict(
        extra="allow", json_schema_extra=_parameters_schema("binary_data_size")
    )


class OutputParameters(BaseModel):
    model_config = ConfigDict(extra="allow", json_schema_extra=_parameters_schema())
    binary_data: bool = omittable(description="Answer this output in binary (the extension).")


class RequestInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, description="The model's input (GET .../models/{name}).")
    datatype: Datatype = Field(description="The input's datatype; it must be the model's.")
    shape: list[Size] = Field(
        min_length=1, description="The tensor's shape: the model's rank, any size for -1."
    )
    data: list[TensorValue] = Field(
        min_length=1,
        description="The values in row-major order, flat or nested; as many as the shape "
        "holds. Finite numbers (true/false for BOOL, strings for BYTES).",
    )
    parameters: InputParameters = omittable()


class RequestedOutput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, description="One of the model's outputs.")
    parameters: OutputParameters = omittable()


def _example(schema: dict[str, Any]) -> None:
    tensor = {"name": "input", "datatype": "FP32", "shape": [1, 64], "data": [0.0] * 64}
    schema["examples"] = [{"id": "1", "inputs": [tensor]}]


class InferRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_example)
    id: str = omittable(description="Echoed in the response.")
    parameters: RequestParameters = omittable()
    inputs: list[RequestInput] = Field(min_length=1, description="Every input of the model.")
    outputs: list[RequestedOutput] = omittable(
        description="The outputs to answer (default: every output)."
    )


class MetadataTensor(Body):
    name: str
    datatype: Datatype
    shape: list[int] = Field(description="-1 for a dimension of any size.")


class ServerMetadata(Body):
    name: str
    version: str
    extensions: list[str]


class ServerLive(Body):
    live: bool


class ServerReady(Body):
    ready: bool


class ModelMetadata(Body):
    name: str
    versions: list[str]
    platform: str = Field(description="onnxruntime_onnx")
    inputs: list[MetadataTensor]
    outputs: list[MetadataTensor] = Field(
        description="A ZipMap output (skl2onnx's classifier default) is an FP32 tensor "
        "[batch, labels], in label order."
    )


class ModelReady(Body):
    name: str
    ready: bool


class ResponseTensor(Body):
    name: str
    datatype: Datatype
    shape: list[Size] = Field(description="The output's shape.")
    data: list[float | bool | str] = Field(description="The values, flat, row-major.")


class InferResponse(Body):
    model_name: str
    model_version: str
    id: str = omittable(description="The request's id, when it gave one.")
    outputs: list[ResponseTensor]


_TAGS = ("open inference protocol (v2)",)
_NAME = path_parameter(examples=["digits-logreg"])
_VERSION = path_parameter(examples=["1.0.0"])
_NOT_FOUND = {404: "No model of that name (or not that version) is served"}
_BINARY = (
    "The binary tensor data extension: with an Inference-Header-Content-Length header, the "
    "body is that many bytes of this JSON (each binary input with parameters."
    "binary_data_size instead of data), then each binary input's bytes in input order "
    "(little-endian; BYTES as a 4-byte length before each element). Outputs asked in binary "
    "are answered as application/octet-stream: the JSON response (with binary_data_size "
    "instead of data), of Inference-Header-Content-Length bytes, then their bytes."
)
_INFER_ERRORS = {
    400: "Malformed request, or inputs that do not fit the model: an unknown or missing "
    "input, a datatype that is not the model's, data whose length is not the shape's, a "
    "shape or value the input does not take (NaN, Infinity), a binary length past the body, "
    "an unknown output",
    413: "Body over SERVEKIT_MAX_BODY_BYTES",
    500: "The model failed inside onnxruntime (its reason), or an unexpected failure",
    **_NOT_FOUND,
}


def _operation(summary: str, response: type[BaseModel], **more: Any) -> Operation:
    return Operation(summary, response, tags=_TAGS, error_body=V2ErrorResponse, **more)


def _model(summary: str, response: type[BaseModel], version: bool) -> Operation:
    parameters = {"name": _NAME, **({"version": _VERSION} if version else {})}
    return _operation(
        summary, response, errors=(404,), error_descriptions=_NOT_FOUND, parameters=parameters
    )


def _infer(version: bool) -> Operation:
    return _operation(
        "Infer: JSON tensors, or the binary tensor data extension",
        InferResponse,
        description=_BINARY,
        request=InferRequestBody,
        body_errors=(400, 413),
        errors=(404,),
        error_descriptions=_INFER_ERRORS,
        parameters={"name": _NAME, **({"version": _VERSION} if version else {})},
        headers={
            "Inference-Header-Content-Length": header(
                "Binary answers only: the length of the JSON before the outputs' bytes.",
                r"^[0-9]+$",
                required=False,
            )
        },
        alternative_content={
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
        },
    )


OPERATIONS = {
    "v2_server_metadata": _operation("Server metadata", ServerMetadata),
    "v2_server_live": _operation("Server liveness", ServerLive),
    "v2_server_ready": _operation("Server readiness (every model is loaded)", ServerReady),
    "v2_model_metadata": _model("Model metadata", ModelMetadata, version=False),
    "v2_model_version_metadata": _model("Model metadata (a version)", ModelMetadata, True),
    "v2_model_ready": _model("Model readiness", ModelReady, version=False),
    "v2_model_version_ready": _model("Model readiness (a version)", ModelReady, version=True),
    "v2_infer": _infer(version=False),
    "v2_model_version_infer": _infer(version=True),
}
