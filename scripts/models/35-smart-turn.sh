# Smart Turn v3.2, Pipecat's end-of-turn model (sourced by scripts/install-models).
#   models/turn/smart-turn-v3.2-cpu.onnx   int8 ONNX, BSD-2-Clause (Daily); input
#                                          input_features [1,80,800] (Whisper log-mel of the last
#                                          8 s at 16 kHz), output [1,1] P(turn complete)
# It ships inside the pipecat-ai wheel (pure Python, any platform); only the model is extracted.

SMART_TURN_VERSION=1.14.0
SMART_TURN_SHA256=2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f

smart_turn="$VAARTA_MODELS_DIR/turn/smart-turn-v3.2-cpu.onnx"
if ! verify "$smart_turn" "$SMART_TURN_SHA256"; then
  extract "$(wheel pipecat-ai "$SMART_TURN_VERSION")" \
    pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx "$smart_turn" "$SMART_TURN_SHA256"
fi
