//! The speculative final transcript: at the VAD's pause the utterance so far is transcribed
//! at once, while the end-of-turn model and the silence decide whether the caller is done.
//! When the turn ends with nothing but silence since the pause (the session checks that no
//! VAD frame rose above the silence threshold: a short last word never starts "speech"), that
//! transcript *is* the final, so the final costs nothing at the end of the turn. When
//! the caller goes on, the guess is cancelled and forgotten: nothing is ever answered from a
//! transcript that does not cover the whole utterance.
//!
//! Pure bookkeeping, generic over the result type; the session runs the STT job.

use vaarta_speech::stt::CancelFlag;

/// One call's speculative final.
pub(super) struct Speculation<T> {
    next_epoch: u64,
    /// The guess over the current utterance.
    guess: Option<Guess<T>>,
    /// A guess whose turn ended while it ran: its result is that turn's final, even if the
    /// caller has started a new utterance since.
    adopted: Option<u64>,
}

struct Guess<T> {
    epoch: u64,
    cancel: CancelFlag,
    result: Option<T>,
}

/// What the end of a turn finds.
#[derive(Debug, PartialEq)]
pub(super) enum Adoption<T> {
    /// The guess is done and covers the utterance: use it as the final now.
    Ready(T),
    /// The guess is still running and covers the utterance: its result will be the final.
    Pending,
    /// No guess covers the utterance: transcribe it as usual.
    None,
}

impl<T> Default for Speculation<T> {
    fn default() -> Self {
        Self {
            next_epoch: 0,
            guess: None,
            adopted: None,
        }
    }
}

impl<T> Speculation<T> {
    /// The caller paused: a new guess over the utterance so far. Returns its epoch (to tag the
    /// result) and the flag that cancels its job. An older guess is cancelled.
    pub fn start(&mut self) -> (u64, CancelFlag) {
        self.invalidate();
        let epoch = self.next_epoch;
        self.next_epoch += 1;
        let cancel = CancelFlag::new();
        self.guess = Some(Guess {
            epoch,
            cancel: cancel.clone(),
            result: None,
        });
        (epoch, cancel)
    }

    /// The caller spoke again, or the utterance was dropped: the guess no longer covers it.
    pub fn invalidate(&mut self) {
        if let Some(g) = self.guess.take() {
            g.cancel.cancel();
        }
    }

    /// The turn ended: how to get its final.
    pub fn adopt(&mut self) -> Adoption<T> {
        let Some(g) = self.guess.take() else {
            return Adoption::None;
        };
        match g.result {
            Some(r) => Adoption::Ready(r),
            None => {
                self.adopted = Some(g.epoch);
                Adoption::Pending
            }
        }
    }

    /// A guess's result came back: `Some` when it is a turn's final now (it was adopted); a
    /// result that is still a guess is kept, a stale one dropped.
    pub fn on_result(&mut self, epoch: u64, result: T) -> Option<T> {
        if self.adopted == Some(epoch) {
            self.adopted = None;
            return Some(result);
        }
        if let Some(g) = self.guess.as_mut().filter(|g| g.epoch == epoch) {
            g.result = Some(result);
        }
        None
    }

    /// A guess of `epoch` failed: true when it was adopted (the failure is the final's);
    /// otherwise it is forgotten and the turn's end transcribes as usual.
    pub fn on_failure(&mut self, epoch: u64) -> bool {
        if self.adopted == Some(epoch) {
            self.adopted = None;
            return true;
        }
        if self.guess.as_ref().is_some_and(|g| g.epoch == epoch) {
            self.guess = None;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finished_guess_is_the_final_when_the_turn_ends() {
        let mut s = Speculation::default();
        let (e, _) = s.start();
        assert_eq!(s.on_result(e, "hello"), None);
        assert_eq!(s.adopt(), Adoption::Ready("hello"));
        assert_eq!(s.adopt(), Adoption::None, "used once");
    }

    #[test]
    fn a_running_guess_becomes_the_final_when_it_arrives() {
        let mut s = Speculation::default();
        let (e, cancel) = s.start();
        assert_eq!(s.adopt(), Adoption::Pending);
        // The caller's next utterance must not cancel or drop the adopted job.
        s.invalidate();
        let (next, _) = s.start();
        assert!(!cancel.is_cancelled());
        assert_eq!(s.on_result(e, "hello"), Some("hello"));
        assert_eq!(s.on_result(next, "and another thing"), None);
    }

    #[test]
    fn speech_after_the_pause_cancels_and_forgets_the_guess() {
        let mut s = Speculation::default();
        let (e, cancel) = s.start();
        s.invalidate();
        assert!(cancel.is_cancelled());
        assert_eq!(s.on_result(e, "half a question"), None);
        assert_eq!(s.adopt(), Adoption::None);
    }

    #[test]
    fn a_newer_pause_replaces_the_older_guess() {
        let mut s = Speculation::default();
        let (old, old_cancel) = s.start();
        let (new, _) = s.start();
        assert!(old_cancel.is_cancelled());
        assert_eq!(s.on_result(old, "mera order"), None);
        assert_eq!(s.on_result(new, "mera order number 123"), None);
        assert_eq!(s.adopt(), Adoption::Ready("mera order number 123"));
    }

    #[test]
    fn a_failed_guess_is_forgotten_unless_adopted() {
        let mut s: Speculation<&str> = Speculation::default();
        let (e, _) = s.start();
        assert!(!s.on_failure(e));
        assert_eq!(s.adopt(), Adoption::None);
        let (e, _) = s.start();
        assert_eq!(s.adopt(), Adoption::Pending);
        assert!(s.on_failure(e));
    }
}
