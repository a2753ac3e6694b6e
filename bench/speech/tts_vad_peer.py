"""piper-tts and onnxruntime-Python peers for the TTS/VAD bench (same voice, model, text).

Prints RESULT lines like speech/benches/tts_vad.rs. Run by bench/speech/run-tts-vad.
"""
import os
import statistics
import tempfile
import sys
import time

import numpy as np
import onnxruntime
from piper import PiperVoice

REPS = 3


def tts(voice_path: str, text: str) -> None:
    voice = PiperVoice.load(voice_path)  # piper's defaults: ONNX Runtime picks the thread count
    list(voice.synthesize(text))  # warm-up
    firsts, totals, audio_s = [], [], 0.0
    for _ in range(REPS):
        start = time.perf_counter()
        chunks = voice.synthesize(text)
        first = next(chunks)
        firsts.append(time.perf_counter() - start)
        samples = len(first.audio_float_array)
        for c in chunks:
            samples += len(c.audio_float_array)
        totals.append(time.perf_counter() - start)
        audio_s = samples / first.sample_rate
    first, total = statistics.median(firsts), statistics.median(totals)
    print(f"RESULT tts engine=piper-tts threads=auto first_ms={first*1e3:.1f} total_ms={total*1e3:.1f} "
          f"audio_s={audio_s:.3f} rtf={total/audio_s:.4f}", flush=True)


def vad(model: str, rate: int) -> None:
    """Silero's reference loop (context + state carried) on the same 60 s of 20 ms frames."""
    opts = onnxruntime.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = onnxruntime.InferenceSession(model, sess_options=opts, providers=["CPUExecutionProvider"])
    chunk, ctx = (256, 32) if rate == 8000 else (512, 64)
    audio = np.fromfile(os.path.join(tempfile.gettempdir(), f"vaarta-bench-vad-{rate}.f32"), dtype="<f4")
    frame = rate // 50
    sr = np.array(rate, dtype=np.int64)
    runs = []
    for _ in range(REPS):
        state = np.zeros((2, 1, 128), np.float32)
        context = np.zeros((1, ctx), np.float32)
        pending = np.zeros(0, np.float32)
        start = time.perf_counter()
        for i in range(0, len(audio), frame):
            pending = np.concatenate([pending, audio[i:i + frame]])
            while len(pending) >= chunk:
                x = np.concatenate([context, pending[None, :chunk]], axis=1)
                out, state = sess.run(None, {"input": x, "state": state, "sr": sr})
                context = x[:, -ctx:]
                pending = pending[chunk:]
        runs.append(time.perf_counter() - start)
    elapsed = statistics.median(runs)
    frames = len(audio) // frame
    print(f"RESULT vad engine=onnxruntime-python rate={rate} us_per_frame={elapsed*1e6/frames:.1f} frames={frames}",
          flush=True)


if __name__ == "__main__":
    models, text = sys.argv[1], sys.argv[2]
    tts(f"{models}/piper/en_US-joe-medium.onnx", text)
    for r in (8000, 16000):
        vad(f"{models}/vad/silero_vad.onnx", r)
