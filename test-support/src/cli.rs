//! Running the workspace's binaries as operators' scripts do: stdin piped in, JSON lines read
//! back, usage errors checked. Shared by the CLI tests of `ixi-miner`, `ixi-verifier` and
//! `ixi-link`.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// Runs `command` with `args`, writing `stdin` to it; its whole output.
pub fn run_with_stdin(mut command: Command, args: &[&str], stdin: &str) -> Output {
    let mut child = command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Runs `command` with `args`, writing `stdin` to it; it must succeed: its standard output, one
/// JSON value a line.
pub fn json_answers(command: Command, args: &[&str], stdin: &str) -> Vec<Value> {
    let out = run_with_stdin(command, args, stdin);
    assert_success(&out);
    json_lines(&out)
}

/// Standard output, one JSON value a line.
pub fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect()
}

/// The reference vectors, `tests/data/ixian-reference.json`.
pub fn reference_vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/data/ixian-reference.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Standard error, as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The command succeeded; else its standard error is the failure's message.
pub fn assert_success(out: &Output) {
    assert!(out.status.success(), "{}", stderr(out));
}

/// Each line of `table` is a command line that `command()` must refuse with a usage error (exit
/// status 2), never a panic: its arguments after those of `base` (both split at spaces), then
/// `=>` and what the error must say. Blank lines are skipped.
pub fn assert_refused(mut command: impl FnMut() -> Command, base: &str, table: &str) {
    for line in table.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (flags, says) = line
            .split_once("=>")
            .unwrap_or_else(|| panic!("{line:?}: no `=> what the error says`"));
        let args: Vec<&str> = base
            .split_whitespace()
            .chain(flags.split_whitespace())
            .collect();
        let err = assert_usage_error(&command().args(&args).output().unwrap(), &args);
        assert!(err.contains(says.trim()), "{args:?}: {err}");
    }
}

/// `out`, of a run with `args`, is a usage error (exit status 2), never a panic; its standard
/// error.
fn assert_usage_error(out: &Output, args: &[&str]) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    err
}

/// The value after `name` in a test tool's own arguments (`--name VALUE`).
pub fn flag_value(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}
