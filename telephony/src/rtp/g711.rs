//! G.711 µ-law and A-law (ITU-T G.711), table-free reference implementations.

/// Encode one 16-bit linear sample to µ-law.
pub fn linear_to_ulaw(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32635;
    let mut s = sample as i32;
    let sign = if s < 0 { 0x80 } else { 0 };
    if s < 0 {
        s = -s;
    }
    s = s.min(CLIP) + BIAS;
    let mut exp = 7;
    let mut mask = 0x4000;
    while exp > 0 && s & mask == 0 {
        exp -= 1;
        mask >>= 1;
    }
    let mant = (s >> (exp + 3)) & 0x0F;
    !(sign | (exp << 4) | mant) as u8
}

/// Decode one µ-law byte.
pub fn ulaw_to_linear(u: u8) -> i16 {
    let u = !u;
    let sign = u & 0x80;
    let exp = ((u >> 4) & 0x07) as i32;
    let mant = (u & 0x0F) as i32;
    let mag = (((mant << 3) + 0x84) << exp) - 0x84;
    if sign != 0 { -mag as i16 } else { mag as i16 }
}

/// Encode one 16-bit linear sample to A-law.
pub fn linear_to_alaw(sample: i16) -> u8 {
    let mut s = sample as i32;
    let sign = if s >= 0 { 0x80 } else { 0 };
    if s < 0 {
        s = -s - 1;
    }
    s = s.min(32767) >> 3;
    let (exp, mant) = if s < 32 {
        (0, s >> 1)
    } else {
        let mut exp = 1;
        while s >= 64 << (exp - 1) && exp < 7 {
            exp += 1;
        }
        (exp, (s >> exp) & 0x0F)
    };
    ((sign | (exp << 4) | mant) ^ 0x55) as u8
}

/// Decode one A-law byte.
pub fn alaw_to_linear(a: u8) -> i16 {
    let a = a ^ 0x55;
    let sign = a & 0x80;
    let exp = ((a >> 4) & 0x07) as i32;
    let mant = (a & 0x0F) as i32;
    let mag = if exp == 0 {
        (mant << 4) + 8
    } else {
        ((mant << 4) + 0x108) << (exp - 1)
    };
    if sign != 0 { mag as i16 } else { -mag as i16 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_error_is_within_quantisation_step() {
        for s in (-32000i32..32000).step_by(37) {
            let s = s as i16;
            let u = ulaw_to_linear(linear_to_ulaw(s)) as i32;
            let a = alaw_to_linear(linear_to_alaw(s)) as i32;
            let tol = (s as i32).abs() / 16 + 16;
            assert!((u - s as i32).abs() <= tol, "ulaw {s} -> {u}");
            assert!((a - s as i32).abs() <= tol, "alaw {s} -> {a}");
        }
    }

    #[test]
    fn known_codewords() {
        assert_eq!(linear_to_ulaw(0), 0xFF);
        assert_eq!(linear_to_alaw(0), 0xD5);
        assert_eq!(ulaw_to_linear(0xFF), 0);
        assert_eq!(alaw_to_linear(0xD5), 8);
        assert!(ulaw_to_linear(0x00) < -30000);
    }
}
