//! `enterprise_bindings`: the sellers (`ebcCode`) a platform (`ebpCode`) lets send orders on its
//! behalf (ADR 0006). The one owner of that table: the CLI binds and unbinds, intake and
//! clearance read which pairs are bound.

use std::collections::{BTreeSet, HashSet};

use sqlx::{PgExecutor, PgPool, Row};

/// Which of `pairs` (`(platform, seller)`) are bound, in one query.
pub async fn bound<'e>(
    executor: impl PgExecutor<'e>,
    pairs: &BTreeSet<(String, String)>,
) -> sqlx::Result<HashSet<(String, String)>> {
    if pairs.is_empty() {
        return Ok(HashSet::new());
    }
    let (platforms, sellers): (Vec<&str>, Vec<&str>) =
        pairs.iter().map(|(p, s)| (p.as_str(), s.as_str())).unzip();
    let rows = sqlx::query(
        "SELECT b.platform_code, b.seller_code FROM enterprise_bindings b
         JOIN UNNEST($1::text[], $2::text[]) AS k(p, s)
           ON b.platform_code = k.p AND b.seller_code = k.s",
    )
    .bind(&platforms)
    .bind(&sellers)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("platform_code")?, row.try_get("seller_code")?)))
        .collect()
}

/// Binds `seller` to `platform`; true when the binding is new (binding twice is a no-op).
pub async fn bind(pool: &PgPool, platform: &str, seller: &str) -> sqlx::Result<bool> {
    let result = sqlx::query(
        "INSERT INTO enterprise_bindings (platform_code, seller_code) VALUES ($1, $2)
         ON CONFLICT DO NOTHING",
    )
    .bind(platform)
    .bind(seller)
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Removes a binding; true when there was one.
pub async fn unbind(pool: &PgPool, platform: &str, seller: &str) -> sqlx::Result<bool> {
    let result = sqlx::query(
        "DELETE FROM enterprise_bindings WHERE platform_code = $1 AND seller_code = $2",
    )
    .bind(platform)
    .bind(seller)
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Every binding, by platform then seller.
pub async fn list(pool: &PgPool) -> sqlx::Result<Vec<(String, String)>> {
    let rows =
        sqlx::query("SELECT platform_code, seller_code FROM enterprise_bindings ORDER BY 1, 2")
            .fetch_all(pool)
            .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("platform_code")?, row.try_get("seller_code")?)))
        .collect()
}
