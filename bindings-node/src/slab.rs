//! Values in flight (permits, policy calls), addressed from JS by a token: `seq << 24 | index`,
//! below 2^45 so that it is an exact JS number even after packing a 7-bit step code beside it.
//! The sequence number makes a token single-use: handing it back twice is an error, never a
//! second record.

use breakwater_core::ErrorCode;

use crate::status::{Result, error};

const INDEX_BITS: u32 = 24;
const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;
const SEQ_MASK: u32 = (1 << 21) - 1;
/// Every token is below this.
pub const TOKEN_LIMIT: f64 = (1u64 << 45) as f64;

struct Slot<T> {
    value: Option<T>,
    seq: u32,
}

pub struct Slab<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
        }
    }
}

fn bad() -> napi::Error<crate::status::Code> {
    error(
        ErrorCode::InvalidArgument,
        "unknown token: already handed back, or never issued",
    )
}

impl<T> Slab<T> {
    #[inline]
    pub fn insert(&mut self, value: T) -> Result<f64> {
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                let i = self.slots.len() as u64;
                if i > INDEX_MASK {
                    return Err(error(
                        ErrorCode::InvalidArgument,
                        "more than 16777215 calls in flight on one object",
                    ));
                }
                self.slots.push(Slot {
                    value: None,
                    seq: 0,
                });
                i as u32
            }
        };
        let slot = &mut self.slots[index as usize];
        slot.seq = slot.seq.wrapping_add(1) & SEQ_MASK;
        slot.value = Some(value);
        Ok(((u64::from(slot.seq) << INDEX_BITS) | u64::from(index)) as f64)
    }

    #[inline]
    fn slot(&mut self, token: f64) -> Result<(usize, &mut Slot<T>)> {
        // In range and a whole number (the integer round trip is exact only for those).
        let t = token as u64;
        if !((0.0..TOKEN_LIMIT).contains(&token) && t as f64 == token) {
            return Err(bad());
        }
        let index = (t & INDEX_MASK) as usize;
        let seq = (t >> INDEX_BITS) as u32;
        match self.slots.get_mut(index) {
            Some(slot) if slot.seq == seq && slot.value.is_some() => Ok((index, slot)),
            _ => Err(bad()),
        }
    }

    pub fn get_mut(&mut self, token: f64) -> Result<&mut T> {
        let (_, slot) = self.slot(token)?;
        slot.value.as_mut().ok_or_else(bad)
    }

    #[inline]
    pub fn take(&mut self, token: f64) -> Result<T> {
        let (index, slot) = self.slot(token)?;
        let v = slot.value.take().ok_or_else(bad)?;
        self.free.push(index as u32);
        Ok(v)
    }

    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }
}
