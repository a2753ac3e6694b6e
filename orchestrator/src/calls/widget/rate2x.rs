//! Streaming 2:1 rate changes between the widget's 16 kHz and a SIP leg's 8 kHz, frame by frame
//! with no added latency: the bridge to a human agent carries live conversation.

/// 8 kHz → 16 kHz by linear interpolation.
#[derive(Debug, Default)]
pub struct Up2x {
    last: i16,
}

impl Up2x {
    pub fn run(&mut self, pcm: &[i16]) -> Vec<i16> {
        let mut out = Vec::with_capacity(pcm.len() * 2);
        for &s in pcm {
            out.push(((i32::from(self.last) + i32::from(s)) / 2) as i16);
            out.push(s);
            self.last = s;
        }
        out
    }
}

/// 16 kHz → 8 kHz: a [1/4, 1/2, 1/4] low-pass, then every other sample.
#[derive(Debug, Default)]
pub struct Down2x {
    /// The odd sample before the current pair.
    prev: i16,
    /// A sample left over from an odd-length input.
    carry: Option<i16>,
}

impl Down2x {
    pub fn run(&mut self, pcm: &[i16]) -> Vec<i16> {
        let mut input: Vec<i16> = self.carry.take().into_iter().collect();
        input.extend_from_slice(pcm);
        let mut out = Vec::with_capacity(input.len() / 2);
        let mut pairs = input.chunks_exact(2);
        for p in &mut pairs {
            let y = (i32::from(self.prev) + 2 * i32::from(p[0]) + i32::from(p[1])) / 4;
            out.push(y as i16);
            self.prev = p[1];
        }
        self.carry = pairs.remainder().first().copied();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn up_doubles_and_interpolates() {
        let mut u = Up2x::default();
        assert_eq!(u.run(&[0, 1000]), vec![0, 0, 500, 1000]);
        assert_eq!(
            u.run(&[2000]),
            vec![1500, 2000],
            "state carries across frames"
        );
    }

    #[test]
    fn down_halves_keeps_a_tone_and_removes_near_nyquist() {
        let mut d = Down2x::default();
        // 500 Hz at 16 kHz survives; 7.9 kHz (would alias) is strongly attenuated.
        let tone = |f: f32| {
            (0..1600)
                .map(|i| ((i as f32 * f * std::f32::consts::TAU / 16000.0).sin() * 10000.0) as i16)
                .collect::<Vec<_>>()
        };
        let rms = |x: &[i16]| {
            (x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
        };
        let low = d.run(&tone(500.0));
        assert_eq!(low.len(), 800);
        assert!(rms(&low[10..]) > 6500.0, "{}", rms(&low));
        let high = Down2x::default().run(&tone(7900.0));
        assert!(rms(&high[10..]) < 500.0, "{}", rms(&high));
        // Odd-length frames lose nothing.
        let mut d = Down2x::default();
        let total: usize = [3usize, 5, 2]
            .iter()
            .map(|&n| d.run(&vec![100; n]).len())
            .sum();
        assert_eq!(total, 5);
    }
}
