//! The `diagnose` subcommand, run as the built binary: golden reports, exit statuses,
//! usage errors and colour.
//!
//! Golden files live in tests/golden. After an intended change of the report, regenerate
//! them with `UPDATE_GOLDEN=1 cargo test --test diagnose` and review the diff.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use similar::TextDiff;

const BIN: &str = env!("CARGO_BIN_EXE_fleet-dns-lb-exporter");
/// The report time of every golden report, after the last condition in the fixtures.
const NOW: &str = "2025-06-03T00:00:00Z";
const DOCUMENTED_HUB: &str = "tests/fixtures/documented-hub.yaml";
const EXAMPLE_HUB: &str = "examples/fleet-hub.yaml";
const HEALTHY_HUB: &str = "tests/fixtures/healthy-hub.yaml";
/// Maximum time a run of the binary may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(60);

const EXIT_NO_PROBLEMS: i32 = 0;
const EXIT_USAGE: i32 = 2;
const EXIT_PROBLEMS_FOUND: i32 = 3;

/// Kills the child when the test ends, also when it panics.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the binary with `args` in the crate directory, with the colour variables removed
/// and then `env` set, and waits at most [`DEADLINE`] for it to exit.
fn run(args: &[&str], env: &[(&str, &str)]) -> Run {
    run_with_stdout(args, env, Stdio::piped())
}

/// Runs the binary as [`run`] does, with `stdout` as its standard output; the returned
/// stdout is empty unless `stdout` is a pipe.
fn run_with_stdout(args: &[&str], env: &[(&str, &str)], stdout: Stdio) -> Run {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut guard = ChildGuard(command.spawn().expect("the binary starts"));
    let stdout = guard.0.stdout.take().map(read_in_background);
    let stderr = read_in_background(guard.0.stderr.take().expect("stderr is piped"));

    let started = Instant::now();
    let status = loop {
        if let Some(status) = guard.0.try_wait().expect("waiting for the binary") {
            break status;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "{BIN} {args:?} did not exit within {DEADLINE:?}"
        );
        thread::sleep(Duration::from_millis(20));
    };
    Run {
        code: status
            .code()
            .expect("the binary exited, not killed by a signal"),
        stdout: stdout
            .map(|reader| reader.join().expect("stdout reader"))
            .unwrap_or_default(),
        stderr: stderr.join().expect("stderr reader"),
    }
}

fn read_in_background(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        pipe.read_to_string(&mut text).expect("output is UTF-8");
        text
    })
}

fn diagnose(file: &str, extra: &[&str]) -> Run {
    let mut args = vec!["diagnose", "--from-file", file, "--now", NOW];
    args.extend_from_slice(extra);
    run(&args, &[])
}

/// Compares `actual` with a golden file, or rewrites the file when UPDATE_GOLDEN=1.
fn assert_golden(name: &str, actual: &str) {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1") {
        std::fs::write(&path, actual)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read golden file {}: {e}; create it with UPDATE_GOLDEN=1 cargo test --test diagnose",
            path.display()
        )
    });
    if expected != actual {
        let diff = TextDiff::from_lines(&expected, actual)
            .unified_diff()
            .context_radius(3)
            .header(&format!("{name} (golden)"), &format!("{name} (actual)"))
            .to_string();
        panic!(
            "the report differs from tests/golden/{name}; if the change is intended, run UPDATE_GOLDEN=1 cargo test --test diagnose and review the diff\n{diff}"
        );
    }
}

fn assert_no_escapes(text: &str) {
    assert!(
        !text.contains('\u{1b}'),
        "output contains an ANSI escape sequence"
    );
}

#[test]
fn documented_hub_text_golden() {
    let run = diagnose(DOCUMENTED_HUB, &[]);
    assert_eq!(run.code, EXIT_PROBLEMS_FOUND, "stderr: {}", run.stderr);
    assert_eq!(run.stderr, "");
    assert_golden("documented-hub.txt", &run.stdout);
}

#[test]
fn documented_hub_json_golden() {
    let run = diagnose(DOCUMENTED_HUB, &["--output", "json"]);
    assert_eq!(run.code, EXIT_PROBLEMS_FOUND, "stderr: {}", run.stderr);
    assert_golden("documented-hub.json", &run.stdout);

    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("valid JSON");
    assert_eq!(report["version"], 1);
    assert_eq!(report["problems_found"], true);
    assert_eq!(report["generated_at"], NOW);
}

#[test]
fn example_hub_text_golden() {
    let run = diagnose(EXAMPLE_HUB, &[]);
    assert_eq!(run.code, EXIT_PROBLEMS_FOUND, "stderr: {}", run.stderr);
    assert_golden("example-hub.txt", &run.stdout);
}

#[test]
fn example_hub_json_golden() {
    let run = diagnose(EXAMPLE_HUB, &["--output", "json"]);
    assert_eq!(run.code, EXIT_PROBLEMS_FOUND, "stderr: {}", run.stderr);
    assert_golden("example-hub.json", &run.stdout);
}

#[test]
fn json_groups_every_documented_problem() {
    let run = diagnose(DOCUMENTED_HUB, &["--output", "json"]);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("valid JSON");
    let mut found: Vec<(String, String)> = Vec::new();
    for scenario in report["scenarios"].as_array().expect("scenarios") {
        for problem in scenario["problems"].as_array().expect("problems") {
            for object in problem["objects"].as_array().expect("objects") {
                found.push((
                    problem["problem"].as_str().unwrap().to_owned(),
                    object["name"].as_str().unwrap().to_owned(),
                ));
            }
        }
    }
    // The expected classification of the same fixture, kept beside it.
    let expected = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/documented-hub.expected.yaml"),
    )
    .expect("expected classification");
    for line in expected.lines().filter(|l| l.starts_with("- {")) {
        let name = field(line, "name");
        let problems = field(line, "problems");
        for problem in problems
            .trim_matches(['[', ']'])
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            assert!(
                found.contains(&(problem.to_owned(), name.to_owned())),
                "{name} is not reported under {problem}"
            );
        }
    }
}

/// Returns the value of `key` in a one-line YAML flow mapping of the expected-classification file.
fn field<'a>(line: &'a str, key: &str) -> &'a str {
    let start = line.find(&format!("{key}: ")).expect("key present") + key.len() + 2;
    let rest = &line[start..];
    if rest.starts_with('[') {
        &rest[..=rest.find(']').expect("closed list")]
    } else {
        rest.split([',', '}']).next().unwrap_or_default()
    }
}

#[test]
fn healthy_hub_exits_zero() {
    let run = diagnose(HEALTHY_HUB, &[]);
    assert_eq!(run.code, EXIT_NO_PROBLEMS, "stderr: {}", run.stderr);
    assert!(run.stdout.contains("No problems found."), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("1 of 1 TrafficManagerProfiles are programmed"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("retail/shop  2 used, 198 left"),
        "{}",
        run.stdout
    );
}

#[test]
fn healthy_hub_json_has_no_scenarios() {
    let run = diagnose(HEALTHY_HUB, &["--output", "json"]);
    assert_eq!(run.code, EXIT_NO_PROBLEMS);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("valid JSON");
    assert_eq!(report["problems_found"], false);
    assert_eq!(report["scenarios"], serde_json::json!([]));
}

#[test]
fn missing_file_is_usage_error() {
    let run = diagnose("tests/fixtures/no-such-file.yaml", &[]);
    assert_eq!(run.code, EXIT_USAGE);
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with("error: cannot read snapshot file tests/fixtures/no-such-file.yaml"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("check that the path exists"),
        "{}",
        run.stderr
    );
}

#[test]
fn invalid_yaml_is_usage_error() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("broken.yaml");
    std::fs::write(&path, "items: [unclosed\n  kind: {\n").expect("write the file");
    let run = diagnose(path.to_str().expect("UTF-8 path"), &[]);
    assert_eq!(run.code, EXIT_USAGE);
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("is not valid YAML or JSON"),
        "{}",
        run.stderr
    );
}

#[test]
fn missing_hub_credentials_is_usage_error() {
    // Without --from-file, diagnose reads the live hub; with no kubeconfig to find and
    // no in-cluster service account, it stops before any request.
    let run = run(
        &["diagnose"],
        &[
            ("KUBECONFIG", "/nonexistent/kubeconfig"),
            ("KUBERNETES_SERVICE_HOST", ""),
        ],
    );
    assert_eq!(run.code, EXIT_USAGE);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("/nonexistent/kubeconfig"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("pass --kubeconfig PATH"),
        "{}",
        run.stderr
    );
}

#[test]
fn invalid_flag_values_are_usage_errors() {
    for (flag, value) in [
        ("--output", "xml"),
        ("--now", "yesterday"),
        ("--profile-limit", "0"),
        ("--endpoint-limit", "many"),
    ] {
        let run = run(&["diagnose", "--from-file", HEALTHY_HUB, flag, value], &[]);
        assert_eq!(run.code, EXIT_USAGE, "{flag} {value}");
        assert!(run.stderr.contains(flag), "{flag} {value}: {}", run.stderr);
        assert_eq!(run.stdout, "", "{flag} {value}");
    }
}

#[test]
fn unwritable_stdout_exits_one() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full, which Linux provides, opens for writing");
    let run = run_with_stdout(
        &["diagnose", "--from-file", DOCUMENTED_HUB, "--now", NOW],
        &[],
        Stdio::from(full),
    );
    assert_eq!(run.code, 1, "stderr: {}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with("error: cannot write the report to stdout"),
        "{}",
        run.stderr
    );
}

#[test]
fn several_files_merged() {
    let run = diagnose(
        DOCUMENTED_HUB,
        &["--from-file", HEALTHY_HUB, "--output", "json"],
    );
    assert_eq!(run.code, EXIT_PROBLEMS_FOUND, "stderr: {}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("valid JSON");
    assert_eq!(
        report["sources"],
        serde_json::json!([DOCUMENTED_HUB, HEALTHY_HUB])
    );
    assert_eq!(report["healthy"]["profiles"]["healthy"], 2);
    assert_eq!(report["healthy"]["profiles"]["total"], 6);
}

#[test]
fn undecodable_status_reported() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("hub.yaml");
    std::fs::write(
        &path,
        "apiVersion: networking.fleet.azure.com/v1beta1\nkind: TrafficManagerProfile\nmetadata: {name: p, namespace: ns}\nspec: {resourceGroup: rg}\nstatus: {conditions: not-a-list}\n",
    )
    .expect("write the file");
    let run = diagnose(path.to_str().expect("UTF-8 path"), &[]);
    assert_eq!(run.code, EXIT_PROBLEMS_FOUND, "stderr: {}", run.stderr);
    assert!(
        run.stdout.contains(
            "Condition:      not readable, because the status does not match the CRD schema"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Invalid:        status: conditions:"),
        "{}",
        run.stdout
    );
}

#[test]
fn exporter_flag_before_subcommand_rejected() {
    let run = run(&["--once", "diagnose", "--from-file", HEALTHY_HUB], &[]);
    assert_eq!(run.code, EXIT_USAGE);
}

#[test]
fn exporter_once_runs_without_subcommand() {
    let run = run(&["--from-file", HEALTHY_HUB, "--once"], &[]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert!(run.stdout.contains("# TYPE"), "{}", run.stdout);
}

#[test]
fn runbook_base_url_used_for_links() {
    let run = diagnose(
        DOCUMENTED_HUB,
        &["--runbook-base-url", "https://runbooks.example.test/fleet/"],
    );
    assert!(
        run.stdout.contains(
            "Runbook:        https://runbooks.example.test/fleet/authorization_failed.md"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn piped_output_not_coloured() {
    let run = diagnose(DOCUMENTED_HUB, &[]);
    assert_no_escapes(&run.stdout);
}

#[test]
fn clicolor_force_colours_piped_output() {
    let run = run(
        &["diagnose", "--from-file", DOCUMENTED_HUB, "--now", NOW],
        &[("CLICOLOR_FORCE", "1")],
    );
    assert!(
        run.stdout.contains("\u{1b}["),
        "no ANSI escape in the output"
    );
}

#[test]
fn no_color_overrides_clicolor_force() {
    let run = run(
        &["diagnose", "--from-file", DOCUMENTED_HUB, "--now", NOW],
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")],
    );
    assert_no_escapes(&run.stdout);
    assert_golden("documented-hub.txt", &run.stdout);
}

#[test]
fn json_never_coloured() {
    let run = run(
        &[
            "diagnose",
            "--from-file",
            DOCUMENTED_HUB,
            "--output",
            "json",
        ],
        &[("CLICOLOR_FORCE", "1")],
    );
    assert_no_escapes(&run.stdout);
}

/// Checks that every line of the trimmed report in the README is in the golden report, in
/// the same order. The example then cannot drift from the real output.
#[test]
fn readme_example_matches_golden() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let golden = std::fs::read_to_string(root.join("tests/golden/documented-hub.txt"))
        .expect("golden report");
    let start = readme
        .find("$ fleet-dns-lb-exporter diagnose")
        .expect("README shows a diagnose example");
    let example = &readme[start..];
    let example = &example[..example.find("```").expect("the example block ends")];

    let mut golden_lines = golden.lines();
    for line in example.lines().skip(1) {
        if line == "[...]" {
            continue;
        }
        if line.starts_with("$ ") {
            break;
        }
        assert!(
            golden_lines.any(|g| g == line),
            "README line not in tests/golden/documented-hub.txt (or out of order): {line:?}"
        );
    }
}

/// Runs `diagnose` on the documented hub with stdout on a new pseudo-terminal, and returns
/// what the terminal received.
fn run_on_terminal(env: &[(&str, &str)]) -> Run {
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};

    let controller = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY)
        .expect("open a pseudo-terminal; the test needs /dev/ptmx and a mounted devpts");
    grantpt(&controller).expect("grantpt");
    unlockpt(&controller).expect("unlockpt");
    let terminal_path = ptsname(&controller, Vec::new()).expect("ptsname");
    let terminal = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(terminal_path.to_str().expect("UTF-8 terminal path"))
        .expect("open the terminal side");

    // The reader ends with an error (EIO on Linux) once the child has exited and the last
    // handle of the terminal side is closed. Everything read before then is kept.
    let mut controller = std::fs::File::from(controller);
    let reader = thread::spawn(move || {
        let mut bytes = Vec::new();
        let mut buffer = [0u8; 4096];
        loop {
            match controller.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => bytes.extend_from_slice(&buffer[..n]),
            }
        }
        String::from_utf8(bytes).expect("output is UTF-8")
    });

    let mut all_env = vec![("TERM", "xterm-256color")];
    all_env.extend_from_slice(env);
    let run = run_with_stdout(
        &["diagnose", "--from-file", DOCUMENTED_HUB, "--now", NOW],
        &all_env,
        Stdio::from(terminal),
    );
    Run {
        stdout: reader.join().expect("terminal reader"),
        ..run
    }
}

#[test]
fn terminal_output_coloured() {
    let run = run_on_terminal(&[]);
    assert_eq!(run.code, EXIT_PROBLEMS_FOUND, "stderr: {}", run.stderr);
    assert!(
        run.stdout.contains("\u{1b}["),
        "no ANSI escape on the terminal"
    );

    // Without its styles, and with the terminal's CR LF line ends undone, the coloured
    // report is the plain one.
    let plain = anstream::adapter::strip_str(&run.stdout).to_string();
    assert_golden("documented-hub.txt", &plain.replace("\r\n", "\n"));
}

#[test]
fn no_color_honoured_on_terminal() {
    let run = run_on_terminal(&[("NO_COLOR", "1")]);
    assert_eq!(run.code, EXIT_PROBLEMS_FOUND, "stderr: {}", run.stderr);
    assert_no_escapes(&run.stdout);
    assert_golden("documented-hub.txt", &run.stdout.replace("\r\n", "\n"));
}
