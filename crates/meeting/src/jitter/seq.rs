//! RTP sequence numbers extended to 64 bits, so that ordering survives the
//! wrap at 65535 and a buffer can index packets without ambiguity.

/// Extends 16-bit sequence numbers by picking, for each one, the 64-bit value
/// closest to the highest seen so far (RFC 3550 A.1, without the probation).
#[derive(Debug, Default, Clone)]
pub struct SeqUnwrapper {
    highest: Option<u64>,
}

/// The first extended number starts one cycle up, so that packets a little
/// older than the first one seen do not go below zero.
const FIRST_CYCLE: u64 = 1 << 16;

impl SeqUnwrapper {
    pub fn extend(&mut self, seq: u16) -> u64 {
        let Some(highest) = self.highest else {
            let first = FIRST_CYCLE + u64::from(seq);
            self.highest = Some(first);
            return first;
        };
        // The signed distance from the highest, in -32768..=32767.
        let delta = i64::from(seq.wrapping_sub(highest as u16) as i16);
        let extended = highest.saturating_add_signed(delta);
        if extended > highest {
            self.highest = Some(extended);
        }
        extended
    }

    pub fn highest(&self) -> Option<u64> {
        self.highest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_forward_and_keeps_late_packets_before_the_wrap() {
        let mut u = SeqUnwrapper::default();
        let a = u.extend(65_534);
        assert_eq!(u.extend(65_535), a + 1);
        assert_eq!(u.extend(0), a + 2);
        assert_eq!(u.extend(1), a + 3);
        // A packet from before the wrap arriving late is still older.
        assert_eq!(u.extend(65_533), a - 1);
        assert_eq!(u.highest(), Some(a + 3));
    }

    #[test]
    fn late_packets_before_the_first_do_not_underflow() {
        let mut u = SeqUnwrapper::default();
        let first = u.extend(3);
        assert_eq!(u.extend(65_530), first - 9);
        assert_eq!(u.highest(), Some(first));
    }
}
