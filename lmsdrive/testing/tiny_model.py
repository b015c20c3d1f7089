"""A tiny llama-architecture GGUF model whose output is exact, for tests against a real
llama.cpp server (the OpenAI-compatible API that LM Studio also serves).

:func:`write_tiny_llama` writes a ~500 KB model file with the ``gguf`` package (a dev
dependency): 2 layers, 64-dim embeddings, 4 heads, a 128-wide feed-forward, and a
SentencePiece-style (``tokenizer.ggml.model = "llama"``) vocabulary of the control tokens,
the 256 byte-fallback tokens, the printable ASCII characters and the forced word.

The weights are random (seeded, so the file is the same on every run) but arranged so that
one token always wins: every token embedding carries a large constant in dimension 0, the
layers add only tiny perturbations, and ``output.weight`` is zero in dimension 0 except
for the forced token's row. After the final RMS norm, dimension 0 dominates the hidden
state, so the forced token's logit is far above every other (by ~80 at any temperature a
test would use). Generation therefore prints ``" hello hello hello ..."`` until
``max_tokens``, and never the end-of-sequence token.

A minimal chat template (``tokenizer.chat_template``) is embedded, so llama.cpp's server
and llama-cpp-python pick it up without a ``chat_format`` option.
"""

from __future__ import annotations

from pathlib import Path

#: The chat template embedded in the model (Jinja2, as llama.cpp servers expect).
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ message['role'] }}: {{ message['content'] }}\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)

N_EMBD = 64
N_HEAD = 4
N_FF = 128
N_LAYER = 2
N_CTX = 512
SPIECE_SPACE = "\u2581"  # SentencePiece's word-boundary marker "▁"


def _vocab(forced_token: str) -> tuple[list[str], list[int], int]:
    """Tokens, token types (gguf.TokenType values) and the forced token's id."""
    tokens = ["<unk>", "<s>", "</s>"]
    types = [2, 3, 3]  # UNKNOWN, CONTROL, CONTROL
    tokens += [f"<0x{b:02X}>" for b in range(256)]
    types += [6] * 256  # BYTE
    for ch in [SPIECE_SPACE, *(chr(c) for c in range(33, 127))]:
        tokens.append(ch)
        types.append(1)  # NORMAL
    forced_piece = SPIECE_SPACE + forced_token
    if forced_piece in tokens:
        raise ValueError(f"forced_token {forced_token!r} collides with a base token")
    tokens.append(forced_piece)
    types.append(1)
    return tokens, types, len(tokens) - 1


def write_tiny_llama(
    path: Path, *, forced_token: str = "hello", seed: int = 0, pooling: str | None = None
) -> Path:
    """Write the tiny model to ``path`` (a ``.gguf`` file) and return ``path``.

    ``pooling`` (``"mean"``, ``"cls"``, ``"last"``) writes ``llama.pooling_type``, so a
    server started with embeddings on answers one vector per input (without it, llama.cpp
    sends one vector per token); ``None`` leaves the file as it always was.

    ``forced_token`` is the word every generated token decodes to (with a leading space,
    as SentencePiece words do); it must not be empty nor hold whitespace.
    """
    import gguf  # dev dependency, imported late so lmsdrive.testing loads without it
    import numpy as np
    import numpy.typing as npt

    if not forced_token or any(c.isspace() for c in forced_token):
        raise ValueError(f"forced_token must be one word, got {forced_token!r}")
    tokens, types, forced_id = _vocab(forced_token)
    n_vocab = len(tokens)
    rng = np.random.default_rng(seed)

    def small(*shape: int) -> npt.NDArray[np.float32]:
        return (rng.standard_normal(shape) * 0.01).astype(np.float32)

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("lmsdrive tiny llama")
    writer.add_context_length(N_CTX)
    writer.add_embedding_length(N_EMBD)
    writer.add_block_count(N_LAYER)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_HEAD)
    writer.add_rope_dimension_count(N_EMBD // N_HEAD)
    writer.add_layer_norm_rms_eps(1e-5)
    if pooling is not None:
        writer.add_pooling_type(gguf.PoolingType[pooling.upper()])
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)

    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(
        [float(-1000 + len(t)) if ty == 1 else 0.0 for t, ty in zip(tokens, types, strict=True)]
    )
    writer.add_token_types(types)
    writer.add_unk_token_id(0)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    writer.add_chat_template(CHAT_TEMPLATE)

    embd = small(n_vocab, N_EMBD)
    embd[:, 0] = 1.0  # the constant that survives every layer and the final norm
    writer.add_tensor("token_embd.weight", embd)
    writer.add_tensor("output_norm.weight", np.ones(N_EMBD, dtype=np.float32))
    out = small(n_vocab, N_EMBD)
    out[:, 0] = 0.0
    out[forced_id, 0] = 10.0
    writer.add_tensor("output.weight", out)
    for i in range(N_LAYER):
        blk = f"blk.{i}"
        writer.add_tensor(f"{blk}.attn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            writer.add_tensor(f"{blk}.{name}.weight", small(N_EMBD, N_EMBD))
        writer.add_tensor(f"{blk}.ffn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
        writer.add_tensor(f"{blk}.ffn_gate.weight", small(N_FF, N_EMBD))
        writer.add_tensor(f"{blk}.ffn_up.weight", small(N_FF, N_EMBD))
        writer.add_tensor(f"{blk}.ffn_down.weight", small(N_EMBD, N_FF))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
