//! whisper.cpp's log, routed to `tracing`.
//!
//! A partial transcript that is cancelled (the caller stopped talking and the final is asked
//! for) aborts `whisper_full` through the abort callback; whisper.cpp then logs
//! `failed to encode` / `failed to decode` at error level although nothing failed. Those lines
//! are expected after an abort and are logged at debug; a real failure still reaches the caller
//! as an [`super::SttError`] and is reported there with the call's context.

use std::ffi::{CStr, c_char, c_uint, c_void};

/// ggml's log levels (`ggml_log_level`): 2 info, 3 warn, 4 error.
const INFO: u32 = 2;
const WARN: u32 = 3;
const ERROR: u32 = 4;

/// Installs whisper-rs's ggml hooks and this crate's whisper.cpp log callback.
pub(super) fn install() {
    whisper_rs::install_logging_hooks();
    // SAFETY: `forward` never unwinds and only reads the C string for the call's duration.
    unsafe { whisper_rs::set_log_callback(Some(forward), std::ptr::null_mut()) };
}

/// Lines whisper.cpp prints when a run was aborted on purpose.
fn is_abort_echo(line: &str) -> bool {
    line.contains("failed to encode") || line.contains("failed to decode")
}

unsafe extern "C" fn forward(level: c_uint, text: *const c_char, _: *mut c_void) {
    if text.is_null() {
        return;
    }
    // SAFETY: whisper.cpp passes a NUL-terminated string valid for this call.
    let line = unsafe { CStr::from_ptr(text) }.to_string_lossy();
    let line = line.trim();
    if line.is_empty() {
        return;
    }
    let _ = std::panic::catch_unwind(|| match level {
        ERROR if is_abort_echo(line) => tracing::debug!(target: "whisper", "{line} (aborted run)"),
        ERROR => tracing::error!(target: "whisper", "{line}"),
        WARN => tracing::warn!(target: "whisper", "{line}"),
        INFO => tracing::info!(target: "whisper", "{line}"),
        _ => tracing::trace!(target: "whisper", "{line}"),
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn abort_echoes_are_recognised() {
        assert!(super::is_abort_echo(
            "whisper_full_with_state: failed to encode"
        ));
        assert!(super::is_abort_echo(
            "whisper_full_with_state: failed to decode"
        ));
        assert!(!super::is_abort_echo("failed to load model"));
    }
}
