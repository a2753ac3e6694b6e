//! Converts a CTranslate2 Whisper model directory to a whisper.cpp GGML file, the same
//! conversion `WhisperModel::load` does lazily (until the `vaarta` CLI grows a command).
//!
//!   cargo run -p vaarta-speech --example whisper_convert -- models/whisper/base /tmp/ggml-base.bin

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [src, out] = args.as_slice() else {
        eprintln!("usage: whisper_convert CT2_MODEL_DIR OUT.bin");
        std::process::exit(2);
    };
    match vaarta_speech::ggml::convert(src.as_ref(), out.as_ref()) {
        Ok(()) => println!("wrote {out}"),
        Err(e) => {
            eprintln!("conversion failed: {e}");
            std::process::exit(1);
        }
    }
}
