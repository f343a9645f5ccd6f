//! Fuzz target `conditional`: feeds each input to [`pictor_fuzz::check_conditional`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pictor_fuzz::check_conditional(data));
