#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| condafix_suite::fuzz::run_receipt(data));
