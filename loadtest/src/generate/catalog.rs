//! What the generated shoppers buy: the SKUs of the seed account book with a realistic price, a
//! realistic largest quantity per line, and a sale-day popularity (a Zipf distribution over
//! [`HOT_TO_COLD`], so a few hot SKUs take most lines).

use bondgate_domain::account_book::AccountBookItem;
use bondgate_domain::positive_list::PositiveListEntry;
use bondgate_domain::seed::{load_seed_account_book, load_seed_positive_list};
use rand::{Rng, RngExt};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// SKUs from the hottest to the coldest on a sale day, with the list price in fen and the largest
/// quantity a shopper puts on one line (kept below the review threshold of 10).
///
/// `SUGAR-1KG` and `RICE-5KG` are left out on purpose: their positive-list lines carry a yearly
/// weight cap per person, which would make an order's outcome depend on the buyer's history and
/// break the generator's promise that a clean order releases.
pub const HOT_TO_COLD: [(&str, i64, u32); 19] = [
    ("FORMULA-900G", 26_800, 6),
    ("MASK-10P", 9_900, 5),
    ("DIAPER-L54", 13_900, 6),
    ("SERUM-50ML", 88_000, 2),
    ("FORMULA-800G", 23_800, 6),
    ("VITAMIN-120", 21_900, 4),
    ("FISHOIL-400", 25_900, 4),
    ("CREAM-50G", 128_000, 2),
    ("LOTION-200ML", 12_900, 3),
    ("PERFUME-30ML", 46_000, 2),
    ("PERFUME-100ML", 105_000, 2),
    ("WINE-750", 19_800, 6),
    ("WATER-1L-6", 5_900, 4),
    ("WATER-500ML", 790, 9),
    ("SHRIMP-1KG", 16_800, 3),
    ("BOOK-EN-01", 8_900, 3),
    ("INK-CART", 12_900, 4),
    ("CONSOLE-01", 269_900, 1),
    ("PHONE-128G", 359_900, 1),
];

/// A list price at or above this (fen) makes a SKU "expensive": heavy buyers and over-limit
/// orders shop from these.
pub const EXPENSIVE_PRICE_MIN_FEN: i64 = 40_000;

/// Assumed gross weight of one unit whose net content is counted in pieces, grams.
const PIECE_GROSS_G: i64 = 300;

/// One SKU on sale.
#[derive(Debug, Clone)]
pub struct CatalogItem {
    /// List price in fen.
    pub price_fen: i64,
    /// Largest quantity of one line.
    pub qty_max: u32,
    /// Gross weight of one unit in grams (for the waybill).
    pub gross_g_per_unit: i64,
    /// The account-book item (SKU, names, unit, origin).
    pub book: AccountBookItem,
    /// Its positive-list entry (tax rates).
    pub entry: PositiveListEntry,
}

/// Samples ranks `0..n` with probability proportional to `1 / (rank + 1)^exponent`.
#[derive(Debug, Clone)]
pub struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    /// The distribution over `n` ranks (`n` ≥ 1, `exponent` ≥ 0).
    pub fn new(n: usize, exponent: f64) -> Self {
        assert!(
            n >= 1 && exponent >= 0.0,
            "Zipf needs n >= 1 and exponent >= 0"
        );
        let weights: Vec<f64> = (1..=n).map(|k| (k as f64).powf(-exponent)).collect();
        let total: f64 = weights.iter().sum();
        let mut sum = 0.0;
        let cdf = weights
            .iter()
            .map(|w| {
                sum += w / total;
                sum
            })
            .collect();
        Self { cdf }
    }

    /// Probability of `rank`.
    pub fn probability(&self, rank: usize) -> f64 {
        let below = if rank == 0 { 0.0 } else { self.cdf[rank - 1] };
        self.cdf[rank] - below
    }

    /// A rank.
    pub fn sample<R: Rng>(&self, rng: &mut R) -> usize {
        let u: f64 = rng.random();
        self.cdf
            .partition_point(|p| *p <= u)
            .min(self.cdf.len() - 1)
    }
}

/// Why the catalog could not be built from the seed data.
#[derive(Debug, thiserror::Error)]
#[error("the seed data does not fit the load catalog: {0}")]
pub struct CatalogError(pub String);

/// The SKUs on sale with their popularity.
#[derive(Debug, Clone)]
pub struct Catalog {
    items: Vec<CatalogItem>,
    popularity: Zipf,
    expensive: Vec<usize>,
}

impl Catalog {
    /// The catalog of [`HOT_TO_COLD`] over the seed account book and positive list.
    pub fn seed(zipf_exponent: f64) -> Result<Self, CatalogError> {
        let book = load_seed_account_book()
            .map_err(|e| CatalogError(format!("seed account book: {e:?}")))?;
        let list = load_seed_positive_list()
            .map_err(|e| CatalogError(format!("seed positive list: {e:?}")))?;
        let mut items = Vec::with_capacity(HOT_TO_COLD.len());
        for (sku, price_fen, qty_max) in HOT_TO_COLD {
            let book = book
                .by_sku(sku)
                .ok_or_else(|| CatalogError(format!("{sku} is not in the account book")))?;
            let entry = list
                .lookup(&book.gcode)
                .ok_or_else(|| CatalogError(format!("{sku} is not on the positive list")))?;
            if entry.weight_cap_kg_per_year.is_some() || !entry.allows_name(&book.gname) {
                return Err(CatalogError(format!(
                    "{sku} has a weight cap or a name its list line refuses"
                )));
            }
            items.push(CatalogItem {
                price_fen,
                qty_max,
                gross_g_per_unit: gross_grams(book),
                book: book.clone(),
                entry: entry.clone(),
            });
        }
        let expensive = (0..items.len())
            .filter(|&i| items[i].price_fen >= EXPENSIVE_PRICE_MIN_FEN)
            .collect();
        Ok(Self {
            popularity: Zipf::new(items.len(), zipf_exponent),
            items,
            expensive,
        })
    }

    /// Every item, hottest first.
    pub fn items(&self) -> &[CatalogItem] {
        &self.items
    }

    /// The popularity distribution over [`Catalog::items`].
    pub fn popularity(&self) -> &Zipf {
        &self.popularity
    }

    /// An item index drawn by popularity.
    pub fn hot<R: Rng>(&self, rng: &mut R) -> usize {
        self.popularity.sample(rng)
    }

    /// An expensive item index, drawn uniformly.
    pub fn expensive<R: Rng>(&self, rng: &mut R) -> usize {
        self.expensive[rng.random_range(0..self.expensive.len())]
    }
}

/// Gross weight of one unit in grams: the legal or net weight plus 10 % packaging, or a flat
/// weight for goods counted in pieces.
fn gross_grams(item: &AccountBookItem) -> i64 {
    item.weight_kg(Decimal::ONE)
        .and_then(|kg| (kg * Decimal::from(1100)).round().to_i64())
        .unwrap_or(PIECE_GROSS_G)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn the_seed_catalog_builds_with_expensive_items() {
        let catalog = Catalog::seed(1.1).unwrap();
        assert_eq!(catalog.items().len(), HOT_TO_COLD.len());
        assert!(catalog.expensive.len() >= 4);
        assert!(catalog.items().iter().all(|i| i.qty_max < 10));
    }

    #[test]
    fn zipf_samples_follow_the_probabilities() {
        let zipf = Zipf::new(19, 1.1);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut counts = [0_u32; 19];
        let draws = 100_000;
        for _ in 0..draws {
            counts[zipf.sample(&mut rng)] += 1;
        }
        for (rank, count) in counts.iter().enumerate() {
            let share = f64::from(*count) / f64::from(draws);
            assert!(
                (share - zipf.probability(rank)).abs() < 0.01,
                "rank {rank}: {share}"
            );
        }
        assert!(zipf.probability(0) > 0.3);
    }
}
