//! Simulated crashes for the tests: after a set number of writes, the next
//! write stops part way and every later step fails, leaving the files as a
//! killed process would. Outside tests every write goes through.

#[cfg(test)]
pub(crate) use simulated::*;

#[cfg(not(test))]
pub(crate) use disabled::*;

#[cfg(test)]
mod simulated {
    use std::cell::Cell;
    use std::io;

    thread_local! {
        static WRITES_LEFT: Cell<Option<usize>> = const { Cell::new(None) };
        static TORN_FRACTION: Cell<(usize, usize)> = const { Cell::new((0, 1)) };
    }

    /// A write cut short after `written` bytes.
    pub struct Torn {
        pub written: usize,
    }

    impl From<Torn> for io::Error {
        fn from(_: Torn) -> Self {
            io::Error::other("simulated crash")
        }
    }

    /// Lets `writes` writes through, then tears the next one after
    /// `numerator / denominator` of its bytes.
    pub fn arm(writes: usize, numerator: usize, denominator: usize) {
        WRITES_LEFT.set(Some(writes));
        TORN_FRACTION.set((numerator, denominator));
    }

    pub fn disarm() {
        WRITES_LEFT.set(None);
    }

    pub fn before_write(len: usize) -> Result<(), Torn> {
        match WRITES_LEFT.get() {
            None => Ok(()),
            Some(0) => {
                let (numerator, denominator) = TORN_FRACTION.get();
                // Once crashed, nothing more reaches the disk.
                TORN_FRACTION.set((0, 1));
                Err(Torn {
                    written: len * numerator / denominator,
                })
            }
            Some(left) => {
                WRITES_LEFT.set(Some(left - 1));
                Ok(())
            }
        }
    }
}

#[cfg(not(test))]
mod disabled {
    /// A write cut short; never made outside tests.
    pub struct Torn {
        pub written: usize,
    }

    impl From<Torn> for std::io::Error {
        fn from(_: Torn) -> Self {
            unreachable!("crash points exist only in tests")
        }
    }

    #[inline(always)]
    pub fn before_write(_len: usize) -> Result<(), Torn> {
        Ok(())
    }
}
