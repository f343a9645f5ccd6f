//! Fuzz target `pipeline`: feeds each input to [`pictor_fuzz::check_pipeline`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pictor_fuzz::check_pipeline(data));
