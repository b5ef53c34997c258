//! A variable that is not UTF-8 in the emulator's own environment does not stop a command
//! version from launching (alone in its test binary: it changes the process environment).

mod support;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::time::Duration;

use support::{script_deployment, wait_status};

#[test]
fn a_non_utf8_host_variable_is_passed_through_and_the_launch_succeeds() {
    // SAFETY: the only test of this binary sets the variable before it starts any thread of
    // its own; nothing else in the process reads the environment concurrently.
    unsafe {
        std::env::set_var(
            "EDGEGAP_EMULATOR_TEST_LATIN1",
            OsStr::from_bytes(b"caf\xe9"),
        );
    }
    let out = support::temp_dir("non-utf8").join("value.txt");
    let (emu, id) = script_deployment(
        "v1",
        &format!(
            "printf %s \"$EDGEGAP_EMULATOR_TEST_LATIN1\" > {}; sleep 30",
            out.display()
        ),
    );
    wait_status(&emu, &id, "Status.READY");
    support::wait_until("the value written", Duration::from_secs(10), || {
        std::fs::read(&out).is_ok_and(|v| v == b"caf\xe9")
    });
}
