//! Fuzz target `lenient_json`: feeds each input to [`pictor_fuzz::check_lenient_json`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pictor_fuzz::check_lenient_json(data));
