//! `bondgate officers create|disable|list` against a per-test database on the local stack.

use std::io::Write;
use std::process::{Command, Stdio};

use bondgate_review::officers::{Role, verify};
use bondgate_storage::testing::fresh_database;

use crate::helpers::{Run, bondgate_with_env};

/// Runs `bondgate ARGS` with `stdin` as its standard input.
fn with_stdin(args: &[&str], env: &[(&str, &str)], stdin: &str) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bondgate"));
    command
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("the bondgate binary runs");
    child
        .stdin
        .take()
        .expect("a stdin pipe")
        .write_all(stdin.as_bytes())
        .expect("stdin written");
    let output = child.wait_with_output().expect("the binary exits");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[tokio::test]
async fn officers_are_created_with_a_password_shown_once_listed_and_disabled() {
    // Goal: `officers create` stores an argon2id hash and prints a generated password once
    // (none with --password-stdin); `list` never shows a hash; `disable` stops the password
    // from working; mistakes exit 2.
    // Method: run the binary on a fresh database and check with the review service's own
    // password verification.
    let (url, db) = fresh_database("cli_officers")
        .await
        .expect("the local stack's PostgreSQL is up");
    let pool = bondgate_storage::pool(&db);
    let env = [("BONDGATE__DATABASE__URL", url.as_str())];
    let args = [
        "officers",
        "create",
        "--username",
        "li.wei",
        "--display-name",
        "李伟",
    ];
    let created = bondgate_with_env(&args, &env);
    assert_eq!(created.code, 0, "{created:?}");
    assert!(
        created.stderr.contains("cannot be shown again"),
        "{created:?}"
    );
    let created = created.json();
    assert_eq!(created["role"], "officer");
    let password = created["password"].as_str().expect("a generated password");
    assert_eq!(password.len(), 20);
    let verified = verify(pool, "li.wei", password)
        .await
        .unwrap()
        .expect("it works");
    assert_eq!(
        (verified.role, verified.display_name.as_str()),
        (Role::Officer, "李伟")
    );

    let supervisor = [
        "officers",
        "create",
        "--username",
        "zhao.min",
        "--display-name",
        "赵敏",
        "--role",
        "supervisor",
        "--password-stdin",
    ];
    let run = with_stdin(&supervisor, &env, "a-long-enough-passphrase\n");
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.json().get("password").is_none(),
        "a given password is not echoed"
    );
    assert!(
        verify(pool, "zhao.min", "a-long-enough-passphrase")
            .await
            .unwrap()
            .is_some()
    );
    let short = [
        "officers",
        "create",
        "--username",
        "x.y",
        "--display-name",
        "X",
        "--password-stdin",
    ];
    let run = with_stdin(&short, &env, "short\n");
    assert_eq!(run.code, 2, "{run:?}");
    let run = bondgate_with_env(&args, &env);
    assert_eq!(run.code, 2, "a taken username: {run:?}");

    let listed = bondgate_with_env(&["officers", "list"], &env);
    assert_eq!(listed.code, 0, "{listed:?}");
    assert!(!listed.stdout.contains("argon2"), "{listed:?}");
    assert!(!listed.stdout.contains(password));
    assert_eq!(listed.json().as_array().unwrap().len(), 2);

    let disabled = bondgate_with_env(&["officers", "disable", "li.wei"], &env);
    assert_eq!(disabled.code, 0, "{disabled:?}");
    assert!(verify(pool, "li.wei", password).await.unwrap().is_none());
    let listed = bondgate_with_env(&["officers", "list"], &env).json();
    assert!(listed[0]["disabledAt"].is_string(), "{listed:#}");
    let unknown = bondgate_with_env(&["officers", "disable", "nobody"], &env);
    assert_eq!(unknown.code, 2, "{unknown:?}");
}
