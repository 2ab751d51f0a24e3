//! Configuration files, environment and command line, as one set of settings.
//!
//! Every long flag of every subcommand is a setting. A TOML file given with `--config FILE`
//! holds them in a table named after the subcommand, under the flag's name:
//!
//! ```toml
//! [serve]
//! listen = "0.0.0.0:7461"
//! ```
//!
//! The environment holds them as `<PREFIX>_<SUBCOMMAND>_<FLAG>` (upper case, dashes as
//! underscores, e.g. `IXI_LINK_SERVE_LISTEN`); the variables the commands already documented
//! (`IXI_MINER_BACKEND`, ...) keep working. Precedence: command line, then environment, then
//! file, then the built-in default. A file with an unknown table or key, or a value its flag
//! would refuse, is an error naming the file and line of each problem.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::{Arg, ArgAction, Command, CommandFactory, FromArgMatches};
use toml::Spanned;

/// Flags that are never settings (they are about the run, not the configuration).
const NOT_SETTINGS: [&str; 4] = ["help", "version", "config", "log-format"];

/// What a configuration file got wrong: every problem, each with its line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not TOML, or not tables of settings.
    #[error("{path}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message (it names the line).
        message: String,
    },
    /// Unknown tables or keys, or values their flags refuse.
    #[error("{}", problems.join("\n"))]
    Invalid {
        /// One line per problem: `FILE:LINE: what`.
        problems: Vec<String>,
    },
}

/// One setting read from a file.
#[derive(Debug, Clone)]
struct FileValue {
    /// The value as the command line would spell it.
    text: String,
}

/// The settings of a file: subcommand → flag → value.
type Settings = BTreeMap<String, BTreeMap<String, FileValue>>;

/// The `--config FILE` of an argument list, if any (read before the rest is parsed, since the
/// file's values become the flags' defaults).
fn config_path(args: &[OsString]) -> Option<PathBuf> {
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        let a = a.to_string_lossy();
        if a == "--" {
            return None;
        }
        if a == "--config" {
            return it.next().map(PathBuf::from);
        }
        if let Some(path) = a.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    None
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// A TOML value as the command line spells it; arrays are for flags that take several.
fn as_arg_text(value: &toml::Value) -> Option<Vec<String>> {
    Some(match value {
        toml::Value::String(s) => vec![s.clone()],
        toml::Value::Integer(i) => vec![i.to_string()],
        toml::Value::Float(f) => vec![f.to_string()],
        toml::Value::Boolean(b) => vec![b.to_string()],
        toml::Value::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                out.extend(as_arg_text(item)?);
            }
            out
        }
        toml::Value::Datetime(_) | toml::Value::Table(_) => return None,
    })
}

/// The settable flags of a subcommand: long name → argument.
fn settings_of(sub: &Command) -> BTreeMap<String, &Arg> {
    sub.get_arguments()
        .filter_map(|a| Some((a.get_long()?.to_owned(), a)))
        .filter(|(long, a)| !NOT_SETTINGS.contains(&long.as_str()) && !a.is_positional())
        .collect()
}

/// Whether an argument takes a value (else it is an on/off flag).
fn takes_value(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::Set | ArgAction::Append)
}

/// What the flag's own parser says of `value`, if it refuses it (checked the way the command
/// line would be, so a file can never hold what `--flag value` could not).
fn refused_value(arg: &Arg, value: &str) -> Option<clap::Error> {
    let long = arg.get_long()?;
    let probe = Command::new("check").arg(
        arg.clone()
            .required(false)
            .env(clap::builder::Resettable::Reset)
            .default_value(clap::builder::Resettable::Reset)
            .global(false),
    );
    probe
        .try_get_matches_from([
            OsString::from("check"),
            OsString::from(format!("--{long}={value}")),
        ])
        .err()
}

/// Reads and checks a file against `command`'s subcommands.
fn read_file(path: &Path, command: &Command) -> Result<Settings, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    type Table = BTreeMap<Spanned<String>, Spanned<toml::Value>>;
    let raw: BTreeMap<Spanned<String>, Table> =
        toml::from_str(&text).map_err(|e| ConfigError::Syntax {
            path: path.to_owned(),
            message: format!(
                "{} (settings go in tables named after the subcommands, e.g. [{}])",
                e.to_string().trim(),
                command
                    .get_subcommands()
                    .find(|s| !settings_of(s).is_empty())
                    .map_or("serve", |s| s.get_name())
            ),
        })?;
    let at = |offset| format!("{}:{}", path.display(), line_of(&text, offset));
    // (offset, message): reported in file order.
    let mut problems: Vec<(usize, String)> = Vec::new();
    let mut settings = Settings::new();
    for (table, keys) in raw {
        let Some(sub) = command.find_subcommand(table.get_ref()) else {
            let known: Vec<_> = command
                .get_subcommands()
                .filter(|s| !settings_of(s).is_empty())
                .map(|s| s.get_name().to_owned())
                .collect();
            problems.push((
                table.span().start,
                format!(
                    "{}: unknown table [{}]: tables are the subcommands {}",
                    at(table.span().start),
                    table.get_ref(),
                    known.join(", ")
                ),
            ));
            continue;
        };
        let known = settings_of(sub);
        let mut values = BTreeMap::new();
        for (key, value) in keys {
            let offset = key.span().start;
            let where_ = at(offset);
            let (key, value) = (key.get_ref(), value.get_ref());
            let Some(arg) = known.get(key.as_str()) else {
                let names: Vec<_> = known.keys().map(String::as_str).collect();
                problems.push((
                    offset,
                    format!(
                        "{where_}: unknown key `{key}` in [{}]: its settings are {}",
                        sub.get_name(),
                        names.join(", ")
                    ),
                ));
                continue;
            };
            let Some(texts) = as_arg_text(value) else {
                problems.push((offset, format!("{where_}: {key}: not a value a flag takes")));
                continue;
            };
            if !takes_value(arg) && !matches!(value, toml::Value::Boolean(_)) {
                problems.push((
                    offset,
                    format!("{where_}: {key}: an on/off setting takes true or false"),
                ));
                continue;
            }
            let refused = takes_value(arg)
                .then(|| texts.iter().find_map(|t| refused_value(arg, t)))
                .flatten();
            if let Some(e) = refused {
                let message = e.to_string();
                let message = message
                    .lines()
                    .next()
                    .unwrap_or("")
                    .trim_start_matches("error: ");
                problems.push((offset, format!("{where_}: {key}: {message}")));
                continue;
            }
            values.insert(
                key.clone(),
                FileValue {
                    text: texts.join(","),
                },
            );
        }
        settings.insert(table.into_inner(), values);
    }
    if problems.is_empty() {
        Ok(settings)
    } else {
        problems.sort_by_key(|(offset, _)| *offset);
        Err(ConfigError::Invalid {
            problems: problems.into_iter().map(|(_, p)| p).collect(),
        })
    }
}

/// The environment variable of a setting.
#[must_use]
pub fn env_name(prefix: &str, subcommand: &str, long: &str) -> String {
    format!("{prefix}_{subcommand}_{long}")
        .to_ascii_uppercase()
        .replace('-', "_")
}

/// `command` with every setting given its environment variable (unless it has one) and, from
/// `settings`, its file value as its default.
fn layered(mut command: Command, prefix: &str, settings: &Settings) -> Command {
    let subs: Vec<String> = command
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    for sub in subs {
        command = command.mut_subcommand(&sub, |mut s| {
            let args: Vec<(String, String)> = settings_of(&s)
                .into_iter()
                .map(|(long, a)| (long, a.get_id().to_string()))
                .collect();
            for (long, id) in args {
                let file = settings.get(&sub).and_then(|t| t.get(&long)).cloned();
                let env = env_name(prefix, &sub, &long);
                s = s.mut_arg(id, |mut a| {
                    if a.get_env().is_none() {
                        a = a.env(env);
                    }
                    if let Some(v) = file {
                        a = if a.get_num_args().is_some_and(|n| n.max_values() > 1) {
                            a.default_values(v.text.split(',').map(str::to_owned))
                        } else {
                            a.default_value(v.text)
                        };
                    }
                    a
                });
            }
            s
        });
    }
    command
}

/// Parses the command line of a binary whose settings are `T`, with the environment (names
/// starting with `prefix`) and the `--config` file layered under it. Exits with clap's usage
/// error (status 2) on a bad command line, and with every problem of a bad file (status 2).
#[must_use]
pub fn parse<T: CommandFactory + FromArgMatches>(prefix: &str) -> T {
    let args: Vec<OsString> = std::env::args_os().collect();
    let command = T::command();
    let settings = match config_path(&args).map(|p| read_file(&p, &command)) {
        Some(Ok(s)) => s,
        Some(Err(e)) => {
            eprintln!("{}: configuration: {e}", command.get_name());
            std::process::exit(2);
        }
        None => Settings::new(),
    };
    let mut command = layered(command, prefix, &settings);
    let matches = command
        .try_get_matches_from_mut(args)
        .unwrap_or_else(|e| e.exit());
    T::from_arg_matches(&matches).unwrap_or_else(|e| e.format(&mut command).exit())
}

/// Whether a setting is a secret, never printed.
fn is_secret(long: &str) -> bool {
    long.contains("password") || long.contains("secret") || long.contains("token")
}

/// A setting's text as a TOML value: a number or true/false where it reads as one.
fn toml_text(value: &str) -> String {
    let typed = if let Ok(i) = value.parse::<i64>() {
        toml::Value::Integer(i)
    } else if let Ok(b) = value.parse::<bool>() {
        toml::Value::Boolean(b)
    } else if let Some(f) = value.parse::<f64>().ok().filter(|f| f.is_finite()) {
        toml::Value::Float(f)
    } else {
        toml::Value::String(value.to_owned())
    };
    typed.to_string()
}

/// `config check`: every setting of every subcommand with the value it has now (file,
/// environment or default), as TOML, secrets masked.
///
/// # Errors
/// [`ConfigError`] for a bad file.
pub fn check<T: CommandFactory>(prefix: &str, file: Option<&Path>) -> Result<String, ConfigError> {
    let command = T::command();
    let settings = match file {
        Some(p) => read_file(p, &command)?,
        None => Settings::new(),
    };
    let command = layered(command, prefix, &settings);
    let mut out = String::new();
    write_tables(&mut out, &command, |out, long, arg| {
        let from_env = arg
            .get_env()
            .and_then(std::env::var_os)
            .map(|v| v.to_string_lossy().into_owned());
        let from_default = default_values(arg);
        let value = from_env
            .or_else(|| (!from_default.is_empty()).then(|| from_default.join(",")))
            .or_else(|| (!takes_value(arg)).then(|| "false".to_owned()));
        match value {
            Some(_) if is_secret(long) => {
                let _ = writeln!(out, "{long} = \"<hidden>\"");
            }
            Some(v) => {
                let _ = writeln!(out, "{long} = {}", toml_text(&v));
            }
            None => {
                let _ = writeln!(out, "# {long} is not set");
            }
        }
    });
    Ok(out)
}

/// A table for each subcommand that has settings, `[name]` and then what `setting` writes for
/// each of them, in order.
fn write_tables(
    out: &mut String,
    command: &Command,
    mut setting: impl FnMut(&mut String, &str, &Arg),
) {
    for sub in command.get_subcommands() {
        let known = settings_of(sub);
        if known.is_empty() {
            continue;
        }
        let _ = writeln!(out, "[{}]", sub.get_name());
        for (long, arg) in known {
            setting(out, &long, arg);
        }
        out.push('\n');
    }
}

/// An argument's default values, as text.
fn default_values(arg: &Arg) -> Vec<String> {
    arg.get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect()
}

/// A commented example file for `binary`: every setting of every subcommand, commented out
/// with its default and help, so that it changes nothing until an operator edits it.
#[must_use]
pub fn example<T: CommandFactory>(prefix: &str) -> String {
    let command = T::command();
    let mut out = format!(
        "# {} configuration: pass it with --config FILE.\n# Each table is a subcommand, each key one of its flags; the command line and the\n# environment ({prefix}_<SUBCOMMAND>_<FLAG>) override what is set here.\n\n",
        command.get_name()
    );
    write_tables(&mut out, &command, |out, long, arg| {
        if let Some(help) = arg.get_help() {
            let help = help.to_string();
            let _ = writeln!(out, "# {}", help.lines().next().unwrap_or(""));
        }
        let default = default_values(arg);
        if is_secret(long) {
            let _ = writeln!(out, "# {long} = \"...\"");
        } else if !takes_value(arg) {
            let _ = writeln!(out, "# {long} = false");
        } else if default.is_empty() {
            let _ = writeln!(out, "# {long} =");
        } else {
            let _ = writeln!(out, "# {long} = {}", toml_text(&default.join(",")));
        }
    });
    out
}

/// `--config FILE`, a global option of every binary.
#[derive(Debug, Clone, clap::Args)]
pub struct ConfigFileArgs {
    /// A TOML file of settings: a table per subcommand, a key per flag (the command line and
    /// the environment override it). `config check --config FILE` checks one.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// What every command's top level takes: its subcommand `C`, the log format and the settings
/// file.
#[derive(Debug, clap::Args)]
pub struct CommandLine<C: clap::Subcommand> {
    /// The subcommand.
    #[command(subcommand)]
    pub command: C,
    /// `--log-format`.
    #[command(flatten)]
    pub log: crate::logging::LogArgs,
    /// `--config FILE`.
    #[command(flatten)]
    pub config: ConfigFileArgs,
}

/// The `config` subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    action: ConfigAction,
}

#[derive(Debug, Clone, clap::Subcommand)]
enum ConfigAction {
    /// Check a configuration file (--config FILE): print the effective settings (file,
    /// environment, defaults) as TOML with secrets masked and exit 0, or name every unknown
    /// key and bad value with its line and exit 2.
    Check,
}

impl ConfigArgs {
    /// Runs `config check` for the binary whose settings are `T`: prints to stdout, or every
    /// problem to stderr and exits 2.
    pub fn run<T: CommandFactory>(&self, prefix: &str, file: Option<&Path>) {
        let ConfigAction::Check = &self.action;
        match check::<T>(prefix, file) {
            Ok(text) => print!("{text}"),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(2);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, clap::Parser)]
    #[command(name = "demo")]
    struct Demo {
        #[command(subcommand)]
        command: DemoCommand,
    }

    #[derive(Debug, clap::Subcommand)]
    enum DemoCommand {
        Serve {
            #[arg(long, default_value = "127.0.0.1:1")]
            listen: String,
            #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=8))]
            threads: u32,
            #[arg(long)]
            api_password: Option<String>,
            #[arg(long)]
            quiet: bool,
        },
    }

    fn file(text: &str) -> tempfile_path::TempFile {
        tempfile_path::TempFile::new(text)
    }

    /// A file for one test, removed afterwards.
    mod tempfile_path {
        pub(super) struct TempFile(pub(super) std::path::PathBuf);

        impl TempFile {
            pub(super) fn new(text: &str) -> Self {
                static NEXT: std::sync::atomic::AtomicUsize =
                    std::sync::atomic::AtomicUsize::new(0);
                let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let path = std::env::temp_dir()
                    .join(format!("ixi-config-test-{}-{n}.toml", std::process::id()));
                std::fs::write(&path, text).unwrap_or_default();
                Self(path)
            }
        }

        impl Drop for TempFile {
            fn drop(&mut self) {
                let _ = std::fs::remove_file(&self.0);
            }
        }
    }

    #[test]
    fn every_problem_is_named_with_its_line() {
        let f = file("[serve]\nthreads = 9\nlisten = \"x\"\ncolour = \"red\"\n\n[other]\na = 1\n");
        let Err(ConfigError::Invalid { problems }) = check::<Demo>("DEMO", Some(&f.0)) else {
            panic!("an invalid file passed");
        };
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems[0].ends_with(
                ":2: threads: invalid value '9' for '--threads <THREADS>': 9 is not in 1..=8"
            ),
            "{problems:?}"
        );
        assert!(
            problems[1].contains(":4: unknown key `colour` in [serve]"),
            "{problems:?}"
        );
        assert!(
            problems[2].contains(":6: unknown table [other]"),
            "{problems:?}"
        );
        let f = file("threads = 3\n");
        assert!(matches!(
            check::<Demo>("DEMO", Some(&f.0)),
            Err(ConfigError::Syntax { .. })
        ));
    }

    #[test]
    fn check_shows_file_values_and_hides_secrets() {
        let f = file("[serve]\nthreads = 2\napi-password = \"hunter2\"\nquiet = true\n");
        let text = check::<Demo>("DEMO", Some(&f.0)).unwrap_or_default();
        assert!(text.contains("threads = 2\n"), "{text}");
        assert!(text.contains("listen = \"127.0.0.1:1\"\n"), "{text}");
        assert!(text.contains("quiet = true\n"), "{text}");
        assert!(
            text.contains("api-password = \"<hidden>\"") && !text.contains("hunter2"),
            "{text}"
        );
        assert_eq!(
            env_name("IXI_LINK", "serve", "api-password"),
            "IXI_LINK_SERVE_API_PASSWORD"
        );
    }

    #[test]
    fn the_example_changes_nothing_and_parses() {
        let example = example::<Demo>("DEMO");
        assert!(
            example.contains("[serve]") && example.contains("# threads = 4"),
            "{example}"
        );
        let f = file(&example);
        let text = check::<Demo>("DEMO", Some(&f.0)).unwrap_or_default();
        assert!(text.contains("threads = 4\n"), "{text}");
    }
}
