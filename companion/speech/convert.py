"""CTranslate2 Whisper (model.bin, format 6) to an openai-whisper checkpoint.

So the optional openai-whisper engine runs offline on the very weights the
default engine uses, and the two can be compared word for word.  The mapping
is exact: CTranslate2 fuses q/k/v of self-attention into ``linear_0`` (the
key's bias slot holds zeros; Whisper's key has no bias) and k/v of
cross-attention into ``linear_1``; everything else is a rename.
"""

from __future__ import annotations

import os
import struct
import tempfile
from pathlib import Path

import numpy as np

from .weights import WeightsError, assemble_bundled

SUPPORTED_VERSION = 6
# CTranslate2's DataType order (include/ctranslate2/types.h).
_DTYPES = (np.float32, np.int8, np.int16, np.int32, np.float16, None)  # None: bfloat16, not used by Whisper exports
OPENAI_FILENAME = "whisper-base-openai.pt"


def read_ct2(path: Path) -> tuple[str, dict[str, np.ndarray]]:
    """(spec name, variables) from a CTranslate2 model.bin; aliases resolved to their targets."""
    if not Path(path).is_file():
        raise WeightsError(f"{path} does not exist: not a CTranslate2 model folder")
    data = Path(path).read_bytes()
    offset = 0

    def take(fmt: str) -> int:
        nonlocal offset
        (value,) = struct.unpack_from("<" + fmt, data, offset)
        offset += struct.calcsize(fmt)
        return value

    def text() -> str:
        nonlocal offset
        n = take("H")
        value = data[offset : offset + n - 1].decode("utf-8")
        offset += n
        return value

    version = take("I")
    if version != SUPPORTED_VERSION:
        raise WeightsError(f"{path}: CTranslate2 model format {version}, only {SUPPORTED_VERSION} can be converted")
    spec = text()
    take("I")  # spec revision
    variables: dict[str, np.ndarray] = {}
    for _ in range(take("I")):
        name = text()
        shape = tuple(take("I") for _ in range(take("B")))
        type_id = take("B")
        nbytes = take("I")
        dtype = _DTYPES[type_id] if type_id < len(_DTYPES) else None
        if dtype is None:
            raise WeightsError(f"{path}: variable {name} has a data type this converter does not read ({type_id})")
        variables[name] = np.frombuffer(data, dtype=dtype, count=nbytes // np.dtype(dtype).itemsize, offset=offset).reshape(shape)
        offset += nbytes
    for _ in range(take("I")):
        alias, target = text(), text()
        variables[alias] = variables[target]
    return spec, variables


def _count_layers(variables: dict[str, np.ndarray], side: str) -> int:
    return len({name.split("/")[1] for name in variables if name.startswith(f"{side}/layer_") and name.split("/")[1][6:].isdigit()})


def openai_state(variables: dict[str, np.ndarray]) -> tuple[dict[str, int], dict[str, np.ndarray]]:
    """(dims, state dict as numpy) in openai-whisper's names."""
    v = variables
    state: dict[str, np.ndarray] = {}

    def copy(dst: str, src: str) -> None:
        state[dst] = np.array(v[src])

    def norm(dst: str, src: str) -> None:
        copy(f"{dst}.weight", f"{src}/gamma")
        copy(f"{dst}.bias", f"{src}/beta")

    def linear(dst: str, src: str, bias: bool = True) -> None:
        copy(f"{dst}.weight", f"{src}/weight")
        if bias:
            copy(f"{dst}.bias", f"{src}/bias")

    def fused(dst: str, src: str, names: tuple[str, ...]) -> None:
        weights = np.split(np.array(v[f"{src}/weight"]), len(names), axis=0)
        biases = np.split(np.array(v[f"{src}/bias"]), len(names), axis=0)
        for name, w, b in zip(names, weights, biases):
            state[f"{dst}.{name}.weight"] = w
            if name != "key":
                state[f"{dst}.{name}.bias"] = b

    def block(dst: str, src: str, cross: bool) -> None:
        sa = f"{src}/self_attention"
        norm(f"{dst}.attn_ln", f"{sa}/layer_norm")
        fused(f"{dst}.attn", f"{sa}/linear_0", ("query", "key", "value"))
        linear(f"{dst}.attn.out", f"{sa}/linear_1")
        if cross:
            ca = f"{src}/attention"
            norm(f"{dst}.cross_attn_ln", f"{ca}/layer_norm")
            linear(f"{dst}.cross_attn.query", f"{ca}/linear_0")
            fused(f"{dst}.cross_attn", f"{ca}/linear_1", ("key", "value"))
            linear(f"{dst}.cross_attn.out", f"{ca}/linear_2")
        norm(f"{dst}.mlp_ln", f"{src}/ffn/layer_norm")
        linear(f"{dst}.mlp.0", f"{src}/ffn/linear_0")
        linear(f"{dst}.mlp.2", f"{src}/ffn/linear_1")

    n_audio_layer = _count_layers(v, "encoder")
    n_text_layer = _count_layers(v, "decoder")
    linear("encoder.conv1", "encoder/conv1")
    linear("encoder.conv2", "encoder/conv2")
    copy("encoder.positional_embedding", "encoder/position_encodings/encodings")
    for i in range(n_audio_layer):
        block(f"encoder.blocks.{i}", f"encoder/layer_{i}", cross=False)
    norm("encoder.ln_post", "encoder/layer_norm")
    copy("decoder.token_embedding.weight", "decoder/embeddings/weight")
    copy("decoder.positional_embedding", "decoder/position_encodings/encodings")
    for i in range(n_text_layer):
        block(f"decoder.blocks.{i}", f"decoder/layer_{i}", cross=True)
    norm("decoder.ln", "decoder/layer_norm")

    n_vocab, n_text_state = v["decoder/embeddings/weight"].shape
    n_audio_ctx, n_audio_state = v["encoder/position_encodings/encodings"].shape
    dims = {
        "n_mels": int(v["encoder/conv1/weight"].shape[1]),
        "n_audio_ctx": int(n_audio_ctx),
        "n_audio_state": int(n_audio_state),
        "n_audio_head": int(v["encoder/num_heads"]),
        "n_audio_layer": n_audio_layer,
        "n_vocab": int(n_vocab),
        "n_text_ctx": int(v["decoder/position_encodings/encodings"].shape[0]),
        "n_text_state": int(n_text_state),
        "n_text_head": int(v["decoder/num_heads"]),
        "n_text_layer": n_text_layer,
    }
    return dims, state


def export_openai(model_dir: Path, out: Path) -> dict[str, int]:
    """Writes the openai-whisper checkpoint ``out`` (atomically); returns its dims."""
    import torch

    spec, variables = read_ct2(Path(model_dir) / "model.bin")
    if spec != "WhisperSpec":
        raise WeightsError(f"{model_dir} holds a {spec}, not a Whisper model")
    dims, state = openai_state(variables)
    checkpoint = {"dims": dims, "model_state_dict": {k: torch.from_numpy(np.ascontiguousarray(a)) for k, a in state.items()}}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}-", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(checkpoint, fh)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dims


def bundled_openai_checkpoint(data_dir: Path) -> Path:
    """The bundled base as an openai-whisper checkpoint in the data dir, made on first use."""
    out = Path(data_dir) / "models" / OPENAI_FILENAME
    if not out.is_file():
        export_openai(assemble_bundled(data_dir), out)
    return out
