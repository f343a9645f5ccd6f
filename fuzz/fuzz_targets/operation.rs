//! Fuzz target `operation`: feeds each input to [`pictor_fuzz::check_operation`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pictor_fuzz::check_operation(data));
