"""faster-whisper timings on the same CT2 model directories and WAV files as bench_stt.
Usage: fw_bench.py MODELS_DIR MODEL[,MODEL] OUT.json WAV...
Prints nothing; writes rows {model, compute_type, threads, audio_s, compute_s}."""
import json, sys, time, wave

from faster_whisper import WhisperModel

models_dir, names, out, wavs = sys.argv[1], sys.argv[2].split(","), sys.argv[3], sys.argv[4:]
audio_s = 0.0
for w in wavs:
    with wave.open(w) as f:
        audio_s += f.getnframes() / f.getframerate()
rows = []
for name in names:
    for compute_type in ("int8", "float32"):
        for threads in (1, 2):
            m = WhisperModel(f"{models_dir}/whisper/{name}", device="cpu", compute_type=compute_type, cpu_threads=threads)
            opts = dict(beam_size=1, language="en", temperature=0.0, condition_on_previous_text=False, vad_filter=False)
            list(m.transcribe(wavs[0], **opts)[0])  # warm-up
            start = time.perf_counter()
            for w in wavs:
                list(m.transcribe(w, **opts)[0])
            rows.append(dict(model=name, compute_type=compute_type, threads=threads, audio_s=audio_s, compute_s=time.perf_counter() - start))
json.dump(rows, open(out, "w"))
