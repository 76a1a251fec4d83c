//! The enterprises the generated traffic names: platforms with their seller, payment and
//! logistics companies. They are the SAMPLE enterprises of `services/bondgate/seed/enterprises.csv`
//! (a test keeps the two in step), so `bondgate seed` registers every party the load uses.

/// One enterprise: customs registration code and registered name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Party {
    /// Customs registration code.
    pub code: &'static str,
    /// Registered name.
    pub name: &'static str,
}

/// A platform (`ebpCode`) and the e-commerce enterprise (`ebcCode`) that sells on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Storefront {
    /// The platform.
    pub platform: Party,
    /// The seller.
    pub seller: Party,
}

/// Platforms and their sellers.
pub const STOREFRONTS: [Storefront; 2] = [
    Storefront {
        platform: Party {
            code: "5001980001",
            name: "渝购跨境电商平台（示例）",
        },
        seller: Party {
            code: "5001980002",
            name: "渝购国际贸易有限公司（示例）",
        },
    },
    Storefront {
        platform: Party {
            code: "5001980011",
            name: "山城优选跨境平台（示例）",
        },
        seller: Party {
            code: "5001980012",
            name: "两江优品供应链有限公司（示例）",
        },
    },
];

/// Payment companies (`payCode`).
pub const PAYMENT_COMPANIES: [Party; 2] = [
    Party {
        code: "5001980021",
        name: "示例第三方支付有限公司",
    },
    Party {
        code: "5001980022",
        name: "示例网络支付科技有限公司",
    },
];

/// Logistics companies (`logisticsCode`).
pub const LOGISTICS_COMPANIES: [Party; 2] = [
    Party {
        code: "5001980003",
        name: "渝快国际物流有限公司（示例）",
    },
    Party {
        code: "5001980013",
        name: "寸滩速运有限公司（示例）",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    const ENTERPRISES_CSV: &str = include_str!("../../../services/bondgate/seed/enterprises.csv");

    fn registered(party: Party, role: &str) -> bool {
        ENTERPRISES_CSV
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| {
                let mut fields = line.splitn(3, ',');
                Some((fields.next()?, fields.next()?, fields.next()?))
            })
            .any(|(code, name, roles)| {
                code == party.code && name == party.name && roles.split('|').any(|r| r == role)
            })
    }

    #[test]
    fn every_party_is_a_seed_enterprise_in_its_role() {
        for front in STOREFRONTS {
            assert!(registered(front.platform, "platform"), "{front:?}");
            assert!(registered(front.seller, "ecommerce"), "{front:?}");
        }
        for party in PAYMENT_COMPANIES {
            assert!(registered(party, "payment"), "{party:?}");
        }
        for party in LOGISTICS_COMPANIES {
            assert!(registered(party, "logistics"), "{party:?}");
        }
    }
}
