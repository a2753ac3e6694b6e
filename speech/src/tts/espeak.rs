//! A small hand-written binding to libespeak-ng (Debian `libespeak-ng-dev`): text → IPA
//! phonemes for Piper voices, and espeak-ng's own synthesis as the fallback voice.
//! (`espeakng-sys` would need libclang/bindgen at build time; these five functions do not.)
//!
//! libespeak-ng keeps global state and is not thread-safe, so every call holds one lock.

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char, c_int, c_short, c_uint, c_void};
use std::path::PathBuf;
use std::sync::Mutex;

use super::TtsError;

const AUDIO_OUTPUT_SYNCHRONOUS: c_int = 2;
const ESPEAK_INITIALIZE_DONT_EXIT: c_int = 0x8000;
const ESPEAK_CHARS_UTF8: c_int = 1;
const ESPEAK_PHONEMES_IPA: c_int = 0x02;
/// Bits 8-23 of the phoneme mode are a tie character inside multi-letter phonemes.
const ESPEAK_PHONEMES_TIE: c_int = 0x80;
/// The tie Kokoro's G2P (misaki) asks espeak-ng for: `t^ʃ`, `a^ɪ`.
pub const TIE: char = '^';
const POS_CHARACTER: c_int = 1;
const EE_OK: c_int = 0;
/// Clause punctuation Piper voices have phonemes for.
const TERMINATORS: &str = ".,?!;:";

#[link(name = "espeak-ng")]
unsafe extern "C" {
    fn espeak_Initialize(
        output: c_int,
        buflength: c_int,
        path: *const c_char,
        options: c_int,
    ) -> c_int;
    fn espeak_SetVoiceByName(name: *const c_char) -> c_int;
    fn espeak_TextToPhonemes(
        textptr: *mut *const c_void,
        textmode: c_int,
        phonememode: c_int,
    ) -> *const c_char;
    fn espeak_SetSynthCallback(cb: unsafe extern "C" fn(*mut c_short, c_int, *mut c_void) -> c_int);
    fn espeak_Synth(
        text: *const c_void,
        size: usize,
        position: c_uint,
        position_type: c_int,
        end_position: c_uint,
        flags: c_uint,
        unique_identifier: *mut c_uint,
        user_data: *mut c_void,
    ) -> c_int;
    fn espeak_Synchronize() -> c_int;
}

/// Sample rate of espeak-ng's own synthesis (returned by `espeak_Initialize`).
struct Engine {
    sample_rate: u32,
    voice: Option<String>,
}

static ENGINE: Mutex<Option<Engine>> = Mutex::new(None);

thread_local! {
    /// Samples delivered by the synchronous synthesis callback (runs on the calling thread).
    static SYNTH_BUF: RefCell<Vec<i16>> = const { RefCell::new(Vec::new()) };
}

unsafe extern "C" fn collect_samples(wav: *mut c_short, n: c_int, _events: *mut c_void) -> c_int {
    if !wav.is_null() && n > 0 {
        // SAFETY: espeak-ng hands us `n` valid samples for the duration of the callback.
        let s = unsafe { std::slice::from_raw_parts(wav, n as usize) };
        SYNTH_BUF.with(|b| b.borrow_mut().extend_from_slice(s));
    }
    0
}

/// A clause of phonemes and the punctuation that ended it (Piper keeps it as a phoneme).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    pub phonemes: String,
    pub terminator: Option<char>,
}

fn with_engine<T>(
    data_dir: Option<&PathBuf>,
    voice: &str,
    f: impl FnOnce(&mut Engine) -> Result<T, TtsError>,
) -> Result<T, TtsError> {
    let mut guard = ENGINE.lock().unwrap_or_else(|p| p.into_inner());
    if guard.is_none() {
        let path = data_dir
            .map(|p| CString::new(p.to_string_lossy().as_bytes()))
            .transpose()
            .map_err(|_| TtsError::Espeak("data path contains a NUL byte".into()))?;
        // SAFETY: plain C call; the path string outlives it.
        let rate = unsafe {
            espeak_Initialize(
                AUDIO_OUTPUT_SYNCHRONOUS,
                0,
                path.as_ref().map_or(std::ptr::null(), |p| p.as_ptr()),
                ESPEAK_INITIALIZE_DONT_EXIT,
            )
        };
        if rate <= 0 {
            return Err(TtsError::Espeak(
                "espeak_Initialize failed: is espeak-ng-data installed (scripts/setup)?".into(),
            ));
        }
        // SAFETY: registers a callback with the right signature.
        unsafe { espeak_SetSynthCallback(collect_samples) };
        *guard = Some(Engine {
            sample_rate: rate as u32,
            voice: None,
        });
    }
    let engine = guard.as_mut().expect("initialised above");
    if engine.voice.as_deref() != Some(voice) {
        let name = CString::new(voice)
            .map_err(|_| TtsError::Espeak("voice name contains a NUL byte".into()))?;
        // SAFETY: plain C call with a valid C string.
        if unsafe { espeak_SetVoiceByName(name.as_ptr()) } != EE_OK {
            engine.voice = None;
            return Err(TtsError::UnknownEspeakVoice(voice.to_string()));
        }
        engine.voice = Some(voice.to_string());
    }
    f(engine)
}

/// Text → IPA phonemes, one entry per clause, with the voice's language rules.
pub fn phonemize(
    data_dir: Option<&PathBuf>,
    voice: &str,
    text: &str,
) -> Result<Vec<Clause>, TtsError> {
    phonemize_mode(data_dir, voice, text, ESPEAK_PHONEMES_IPA)
}

/// Like [`phonemize`], with [`TIE`] joining the letters of one phoneme (`t^ʃ`, `a^ɪ`): Kokoro
/// has single symbols for those (`ʧ`, `I`), which plain IPA cannot tell from two phonemes.
pub fn phonemize_tied(
    data_dir: Option<&PathBuf>,
    voice: &str,
    text: &str,
) -> Result<Vec<Clause>, TtsError> {
    let mode = ESPEAK_PHONEMES_IPA | ESPEAK_PHONEMES_TIE | ((TIE as c_int) << 8);
    phonemize_mode(data_dir, voice, text, mode)
}

fn phonemize_mode(
    data_dir: Option<&PathBuf>,
    voice: &str,
    text: &str,
    mode: c_int,
) -> Result<Vec<Clause>, TtsError> {
    // NUL would end the C string early; control characters mean nothing to speech.
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let c_text = CString::new(clean).expect("NULs were replaced");
    let bytes = c_text.as_bytes();
    with_engine(data_dir, voice, |_| {
        let base = c_text.as_ptr() as *const c_void;
        let mut ptr = base;
        let mut clauses = Vec::new();
        while !ptr.is_null() {
            let before = ptr as usize - base as usize;
            // SAFETY: `ptr` points into `c_text`, which is NUL-terminated and alive; espeak-ng
            // advances it within the string or sets it to NULL at the end.
            let out = unsafe { espeak_TextToPhonemes(&mut ptr, ESPEAK_CHARS_UTF8, mode) };
            let after = if ptr.is_null() {
                bytes.len()
            } else {
                (ptr as usize - base as usize).min(bytes.len())
            };
            let consumed = String::from_utf8_lossy(&bytes[before.min(after)..after]);
            // espeak-ng reads one character into the next clause; drop that look-ahead first.
            let terminator = consumed
                .trim_end_matches(|c: char| !c.is_whitespace() && !TERMINATORS.contains(c))
                .trim_end()
                .chars()
                .last()
                .filter(|c| TERMINATORS.contains(*c));
            let phonemes = if out.is_null() {
                String::new()
            } else {
                // SAFETY: espeak-ng returns a NUL-terminated string valid until the next call.
                unsafe { CStr::from_ptr(out) }
                    .to_string_lossy()
                    .into_owned()
            };
            let phonemes = strip_language_flags(phonemes.trim());
            if !phonemes.is_empty() || terminator.is_some() {
                clauses.push(Clause {
                    phonemes,
                    terminator,
                });
            }
            if after == before && !ptr.is_null() {
                break; // no progress: never loop forever on odd input
            }
        }
        Ok(clauses)
    })
}

/// espeak-ng marks switches to another language's rules as `(en)`…`(hi)` (`(^e^n-^u^s)` with
/// a tie); Piper and Kokoro have no phonemes for those markers.
fn strip_language_flags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find('(') {
        out.push_str(&rest[..open]);
        match rest[open..].find(')') {
            Some(close)
                if close <= 16
                    && rest[open + 1..open + close]
                        .chars()
                        .all(|c| c.is_ascii_alphabetic() || c == '-' || c == TIE) =>
            {
                rest = &rest[open + close + 1..]
            }
            _ => {
                out.push('(');
                rest = &rest[open + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// espeak-ng's own formant synthesis (the fallback voice); returns samples and their rate.
pub fn synthesize(
    data_dir: Option<&PathBuf>,
    voice: &str,
    text: &str,
) -> Result<(Vec<f32>, u32), TtsError> {
    let clean: String = text
        .chars()
        .map(|c| if c == '\0' { ' ' } else { c })
        .collect();
    let c_text = CString::new(clean).expect("NULs were replaced");
    with_engine(data_dir, voice, |engine| {
        SYNTH_BUF.with(|b| b.borrow_mut().clear());
        // SAFETY: synchronous mode: the callback runs on this thread before espeak_Synth returns;
        // the text outlives the call.
        let rc = unsafe {
            espeak_Synth(
                c_text.as_ptr() as *const c_void,
                c_text.as_bytes_with_nul().len(),
                0,
                POS_CHARACTER,
                0,
                ESPEAK_CHARS_UTF8 as c_uint,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        // SAFETY: plain C call.
        unsafe { espeak_Synchronize() };
        if rc != EE_OK {
            return Err(TtsError::Espeak(format!(
                "espeak_Synth failed with code {rc}"
            )));
        }
        let samples = SYNTH_BUF.with(|b| std::mem::take(&mut *b.borrow_mut()));
        Ok((
            samples.iter().map(|s| f32::from(*s) / 32768.0).collect(),
            engine.sample_rate,
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phonemizes_english_with_punctuation() {
        let clauses = phonemize(None, "en-us", "Hello world, how are you?").unwrap();
        assert_eq!(clauses.len(), 2, "{clauses:?}");
        assert_eq!(clauses[0].terminator, Some(','));
        assert_eq!(clauses[1].terminator, Some('?'));
        assert!(clauses[0].phonemes.contains("həlˈoʊ"), "{clauses:?}");
    }

    #[test]
    fn hindi_voice_and_odd_input() {
        let c = phonemize(None, "hi", "नमस्ते").unwrap();
        assert!(!c.is_empty() && !c[0].phonemes.is_empty(), "{c:?}");
        assert!(phonemize(None, "en-us", "").unwrap().is_empty());
        phonemize(None, "en-us", "a\0b \u{1F600} ((( ))) ...").unwrap();
        assert!(matches!(
            phonemize(None, "xx-nonexistent", "hi"),
            Err(TtsError::UnknownEspeakVoice(_))
        ));
    }

    #[test]
    fn tied_phonemes_join_affricates_and_diphthongs() {
        let c = phonemize_tied(None, "en-us", "check line").unwrap();
        assert_eq!(c[0].phonemes, "t^ʃˈɛk lˈa^ɪn", "{c:?}");
    }

    #[test]
    fn language_flags_are_removed() {
        assert_eq!(strip_language_flags("(en)hˈɛloʊ(hi) nəmə"), "hˈɛloʊ nəmə");
        assert_eq!(strip_language_flags("a ( b"), "a ( b");
        assert_eq!(strip_language_flags("(^e^n-^u^s)lˈa^ɪn(^h^i)"), "lˈa^ɪn");
    }

    #[test]
    fn fallback_synthesis_makes_sound() {
        let (s, rate) = synthesize(None, "hi", "नमस्ते, आपका स्वागत है").unwrap();
        assert_eq!(rate, 22050);
        let secs = s.len() as f32 / rate as f32;
        assert!(secs > 0.5 && secs < 5.0, "{secs}");
        assert!(s.iter().any(|v| v.abs() > 0.05));
    }
}
