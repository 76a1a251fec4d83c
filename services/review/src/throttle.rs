//! Failed-login throttling: per attempted username and per client address, kept in PostgreSQL
//! (table `login_throttle`) so every replica of the service shares one count.
//!
//! A key's failures count up while each comes within `login_failure_window_seconds` of the one
//! before (or of the end of the last lockout). From the key's threshold on, every failure locks
//! the key out for `login_lockout_base_seconds`, doubled per failure beyond the threshold, at
//! most `login_lockout_max_seconds`. While locked, attempts are refused before the password is
//! checked and are not counted (a refusal is one indexed read, no argon2, no write). A
//! successful login forgets the username's count, not the client's: one valid account must not
//! let a client reset its count and keep guessing other accounts' passwords.
//!
//! Failures are counted here, not appended to the audit log; only the start of a lockout is
//! audited (by the caller, from [`Started`]). The table stays bounded: counts idle past their
//! `forget_at` are purged, and beyond `login_throttle_rows_max` rows the purge drops those that
//! would be forgotten soonest (active lockouts last).
//!
//! The policy is pure ([`after_failure`]); the I/O around it reads the database's clock only,
//! so replicas with skewed clocks agree.

use chrono::{DateTime, Duration, Utc};
use sqlx::{PgConnection, PgPool};

use crate::config::ReviewConfig;

/// Largest doubling exponent (2^30 times the base is far past any sensible maximum).
const DOUBLINGS_MAX: u32 = 30;

/// What a count is kept for. The order is the order rows are locked in (no deadlocks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// The client's address.
    Client,
    /// The attempted username.
    Username,
}

impl Scope {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Username => "username",
        }
    }
}

/// One counted key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    /// What it is.
    pub scope: Scope,
    /// The username, or the client address.
    pub value: String,
}

impl Key {
    /// The key of an attempted username.
    pub fn username(value: &str) -> Self {
        Self {
            scope: Scope::Username,
            value: value.to_owned(),
        }
    }

    /// The key of a client address.
    pub fn client(value: &str) -> Self {
        Self {
            scope: Scope::Client,
            value: value.to_owned(),
        }
    }
}

/// When a scope locks out, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Failures that start the first lockout.
    pub failures_max: u32,
    /// Idle time after which failures are forgotten.
    pub window: Duration,
    /// The first lockout.
    pub lockout_base: Duration,
    /// The longest lockout.
    pub lockout_max: Duration,
}

/// The policies of both scopes, from the service's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policies {
    /// Per username.
    pub username: Policy,
    /// Per client address.
    pub client: Policy,
}

fn seconds(value: u64) -> Duration {
    Duration::seconds(i64::try_from(value).unwrap_or(i64::MAX / 1_000_000))
}

impl Policies {
    /// The policies `config` sets.
    pub fn of(config: &ReviewConfig) -> Self {
        let policy = |failures_max: u32| Policy {
            failures_max: failures_max.max(1),
            window: seconds(config.login_failure_window_seconds),
            lockout_base: seconds(config.login_lockout_base_seconds.max(1)),
            lockout_max: seconds(config.login_lockout_max_seconds.max(1)),
        };
        Self {
            username: policy(config.login_username_failures_max),
            client: policy(config.login_client_failures_max),
        }
    }

    fn of_scope(&self, scope: Scope) -> Policy {
        match scope {
            Scope::Client => self.client,
            Scope::Username => self.username,
        }
    }
}

/// A key's count as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    /// Failures since the count started afresh.
    pub failures: u32,
    /// The last one.
    pub last_failure_at: DateTime<Utc>,
    /// Attempts are refused until then.
    pub locked_until: Option<DateTime<Utc>>,
    /// Idle past this, the count is forgotten.
    pub forget_at: DateTime<Utc>,
}

/// What one more failure does to a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    /// The count to store.
    pub counter: Counter,
    /// The lockout this failure imposes, if any.
    pub lockout: Option<Duration>,
    /// The key was not locked before: a new lockout starts (audited once).
    pub starts_lockout: bool,
}

/// The lockout after `failures` failures: none below the threshold, then the base doubled per
/// failure beyond it, at most the maximum.
pub fn lockout_after(failures: u32, policy: Policy) -> Option<Duration> {
    let beyond = failures.checked_sub(policy.failures_max)?;
    let factor = 1_i32 << beyond.min(DOUBLINGS_MAX);
    let doubled = policy
        .lockout_base
        .checked_mul(factor)
        .unwrap_or(policy.lockout_max);
    Some(doubled.min(policy.lockout_max))
}

/// The count after one more failure at `now` (the database's clock), given the stored one.
pub fn after_failure(previous: Option<&Counter>, now: DateTime<Utc>, policy: Policy) -> Failure {
    let live = previous.filter(|counter| counter.forget_at > now);
    let failures = live.map_or(1, |counter| counter.failures.saturating_add(1));
    let was_locked = live
        .and_then(|counter| counter.locked_until)
        .is_some_and(|until| until > now);
    let lockout = lockout_after(failures, policy);
    // A failure that slipped past a running lockout (it was checked before the lockout began)
    // never shortens it.
    let earlier_lock = live.and_then(|counter| counter.locked_until);
    let locked_until = match (lockout.map(|lasting| now + lasting), earlier_lock) {
        (Some(new), Some(old)) => Some(new.max(old)),
        (new, old) => new.or(old),
    };
    let quiet_from = locked_until.map_or(now, |until| until.max(now));
    Failure {
        counter: Counter {
            failures,
            last_failure_at: now,
            locked_until,
            forget_at: quiet_from + policy.window,
        },
        lockout,
        starts_lockout: lockout.is_some() && !was_locked,
    }
}

/// How many seconds until every one of `keys` may try again; `None` when none is locked.
pub async fn locked(pool: &PgPool, keys: &[Key]) -> sqlx::Result<Option<u64>> {
    let (scopes, values): (Vec<&str>, Vec<&str>) = keys
        .iter()
        .map(|key| (key.scope.as_str(), key.value.as_str()))
        .unzip();
    let wait: Option<i64> = sqlx::query_scalar(
        "SELECT ceil(extract(epoch FROM max(locked_until) - now()))::bigint FROM login_throttle
         WHERE locked_until > now()
           AND (scope, key) IN (SELECT * FROM UNNEST($1::text[], $2::text[]))",
    )
    .bind(&scopes)
    .bind(&values)
    .fetch_one(pool)
    .await?;
    Ok(wait.map(|seconds| u64::try_from(seconds).unwrap_or(0).max(1)))
}

/// A lockout that a failure started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    /// The key locked out.
    pub key: Key,
    /// Its failures so far.
    pub failures: u32,
    /// How long it lasts.
    pub lockout: Duration,
}

/// Counts one failure for each of `keys` inside `conn`'s transaction; returns the lockouts it
/// started (each to be audited once).
pub async fn record_failure(
    conn: &mut PgConnection,
    keys: &[Key],
    policies: &Policies,
) -> sqlx::Result<Vec<Started>> {
    let now: DateTime<Utc> = sqlx::query_scalar("SELECT now()")
        .fetch_one(&mut *conn)
        .await?;
    let mut sorted = keys.to_vec();
    sorted.sort();
    sorted.dedup();
    let mut started = Vec::new();
    for key in sorted {
        let previous = lock_counter(conn, &key).await?;
        let failure = after_failure(Some(&previous), now, policies.of_scope(key.scope));
        store(conn, &key, &failure.counter).await?;
        if let (true, Some(lockout)) = (failure.starts_lockout, failure.lockout) {
            started.push(Started {
                key,
                failures: failure.counter.failures,
                lockout,
            });
        }
    }
    Ok(started)
}

/// The key's stored count, its row locked for this transaction. A missing row is created
/// already forgotten (forget_at in 1970: two first failures at once then queue on one row
/// instead of both inserting), which [`after_failure`] treats as no count.
async fn lock_counter(conn: &mut PgConnection, key: &Key) -> sqlx::Result<Counter> {
    sqlx::query(
        "INSERT INTO login_throttle (scope, key, failures, last_failure_at, forget_at)
         VALUES ($1, $2, 1, to_timestamp(0), to_timestamp(0))
         ON CONFLICT (scope, key) DO NOTHING",
    )
    .bind(key.scope.as_str())
    .bind(&key.value)
    .execute(&mut *conn)
    .await?;
    let row: (i32, DateTime<Utc>, Option<DateTime<Utc>>, DateTime<Utc>) = sqlx::query_as(
        "SELECT failures, last_failure_at, locked_until, forget_at FROM login_throttle
         WHERE scope = $1 AND key = $2 FOR UPDATE",
    )
    .bind(key.scope.as_str())
    .bind(&key.value)
    .fetch_one(&mut *conn)
    .await?;
    let (failures, last_failure_at, locked_until, forget_at) = row;
    Ok(Counter {
        failures: u32::try_from(failures).unwrap_or(1),
        last_failure_at,
        locked_until,
        forget_at,
    })
}

async fn store(conn: &mut PgConnection, key: &Key, counter: &Counter) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE login_throttle SET failures = $3, last_failure_at = $4, locked_until = $5,
             forget_at = $6
         WHERE scope = $1 AND key = $2",
    )
    .bind(key.scope.as_str())
    .bind(&key.value)
    .bind(i32::try_from(counter.failures).unwrap_or(i32::MAX))
    .bind(counter.last_failure_at)
    .bind(counter.locked_until)
    .bind(counter.forget_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets `key`'s failures (a successful login of that username, or an administrator's
/// unlock); returns whether there were any.
pub async fn forget(conn: &mut PgConnection, key: &Key) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM login_throttle WHERE scope = $1 AND key = $2")
        .bind(key.scope.as_str())
        .bind(&key.value)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Deletes forgotten counts, then the soonest forgotten beyond `rows_max`; returns how many.
pub async fn purge(pool: &PgPool, rows_max: u64) -> sqlx::Result<u64> {
    let forgotten = sqlx::query("DELETE FROM login_throttle WHERE forget_at <= now()")
        .execute(pool)
        .await?
        .rows_affected();
    let excess = sqlx::query(
        "DELETE FROM login_throttle WHERE (scope, key) IN (
             SELECT scope, key FROM login_throttle ORDER BY forget_at DESC OFFSET $1)",
    )
    .bind(i64::try_from(rows_max).unwrap_or(i64::MAX))
    .execute(pool)
    .await?
    .rows_affected();
    Ok(forgotten + excess)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn policy() -> Policy {
        Policy {
            failures_max: 3,
            window: Duration::seconds(900),
            lockout_base: Duration::seconds(60),
            lockout_max: Duration::seconds(3_600),
        }
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap() + Duration::seconds(seconds)
    }

    #[test]
    fn lockouts_start_at_the_threshold_and_double_up_to_the_maximum() {
        let policy = policy();
        assert_eq!(lockout_after(2, policy), None);
        let lasting: Vec<i64> = (3..=11)
            .map(|n| lockout_after(n, policy).unwrap().num_seconds())
            .collect();
        assert_eq!(
            lasting,
            [60, 120, 240, 480, 960, 1_920, 3_600, 3_600, 3_600]
        );
        assert_eq!(
            lockout_after(u32::MAX, policy),
            Some(policy.lockout_max),
            "no overflow"
        );
    }

    #[test]
    fn a_lockout_starts_once_and_each_failure_after_it_doubles_the_next() {
        let policy = policy();
        let first = after_failure(None, at(0), policy);
        assert_eq!((first.counter.failures, first.lockout), (1, None));
        let second = after_failure(Some(&first.counter), at(10), policy);
        let third = after_failure(Some(&second.counter), at(20), policy);
        assert!(third.starts_lockout);
        assert_eq!(third.counter.locked_until, Some(at(80)));
        assert_eq!(third.counter.forget_at, at(80 + 900));
        // A guess checked before the lockout began lands inside it: longer, not a new start.
        let raced = after_failure(Some(&third.counter), at(21), policy);
        assert!(!raced.starts_lockout);
        assert_eq!(raced.counter.locked_until, Some(at(21 + 120)));
        // Right after the lockout ends, one more failure locks again, twice as long.
        let fourth = after_failure(Some(&raced.counter), at(200), policy);
        assert!(fourth.starts_lockout);
        assert_eq!(fourth.counter.failures, 5);
        assert_eq!(fourth.counter.locked_until, Some(at(200 + 240)));
    }

    #[test]
    fn failures_are_forgotten_after_a_quiet_window() {
        let policy = policy();
        let first = after_failure(None, at(0), policy);
        let later = after_failure(Some(&first.counter), at(901), policy);
        assert_eq!(later.counter.failures, 1, "counted afresh");
        let soon = after_failure(Some(&first.counter), at(899), policy);
        assert_eq!(soon.counter.failures, 2);
    }

    #[test]
    fn a_placeholder_row_counts_as_no_failure() {
        let placeholder = Counter {
            failures: 1,
            last_failure_at: DateTime::<Utc>::UNIX_EPOCH,
            locked_until: None,
            forget_at: DateTime::<Utc>::UNIX_EPOCH,
        };
        let failure = after_failure(Some(&placeholder), at(0), policy());
        assert_eq!(failure.counter.failures, 1);
        assert_eq!(failure, after_failure(None, at(0), policy()));
    }

    #[test]
    fn scopes_lock_clients_before_usernames() {
        let mut keys = [Key::username("li.wei"), Key::client("203.0.113.7")];
        keys.sort();
        assert_eq!(keys[0].scope, Scope::Client);
    }
}
