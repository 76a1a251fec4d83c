//! The UI's two languages: Simplified Chinese first, English second. Every text of the UI is
//! written at its call site as a pair, `lang.t("放行", "Release")`, so neither language can be
//! missing a string. Customs labels of statuses and codes come from the domain crate.

use bondgate_domain::status::ReturnStatus;

/// Name of the language cookie.
pub const LANG_COOKIE: &str = "bg_review_lang";

/// A UI language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// 简体中文 (the default).
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// The language of a cookie value; anything else is Chinese.
    pub fn from_tag(tag: &str) -> Self {
        if tag.eq_ignore_ascii_case("en") {
            Self::En
        } else {
            Self::Zh
        }
    }

    /// The cookie value and `lang` attribute: `zh-CN` or `en`.
    pub fn tag(self) -> &'static str {
        match self {
            Self::Zh => "zh-CN",
            Self::En => "en",
        }
    }

    /// The other language (the switch).
    pub fn other(self) -> Self {
        match self {
            Self::Zh => Self::En,
            Self::En => Self::Zh,
        }
    }

    /// This language's own name, for the switch.
    pub fn name(self) -> &'static str {
        match self {
            Self::Zh => "中文",
            Self::En => "English",
        }
    }

    /// Picks the text of this language.
    pub fn t(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Self::Zh => zh,
            Self::En => en,
        }
    }

    /// The customs label of a status, e.g. `放行` / `released`.
    pub fn status(self, code: i32) -> String {
        match ReturnStatus::from_code(code) {
            Some(status) => match self {
                Self::Zh => status.label_zh().to_owned(),
                Self::En => status.label_en().to_owned(),
            },
            None => code.to_string(),
        }
    }

    /// A hold code's label (`bg.risk.*`), or the code itself when unknown.
    pub fn hold_reason(self, code: &str) -> String {
        let pair = match code {
            "bg.risk.dutiable_value" => {
                ("完税价格达到审核阈值", "dutiable value at review threshold")
            }
            "bg.risk.line_qty" => ("单项数量达到审核阈值", "line quantity at review threshold"),
            "bg.risk.watch_chapter" => ("重点关注商品章节", "watched HS chapter"),
            "bg.risk.tax_total" => ("代扣税款偏差超出容差", "withheld tax off tolerance"),
            "bg.risk.weight_unknown" => ("重量无法确定", "weight unknown"),
            other => return other.to_owned(),
        };
        self.t(pair.0, pair.1).to_owned()
    }

    /// An HS chapter with its short name where one is known: `33 化妆品`.
    pub fn chapter(self, chapter: &str) -> String {
        let pair = match chapter {
            "03" => Some(("水产品", "fish and seafood")),
            "17" => Some(("糖及糖食", "sugars")),
            "10" => Some(("谷物", "cereals")),
            "19" => Some(("乳品及谷物制品", "dairy and cereal preparations")),
            "21" => Some(("杂项食品", "misc. food preparations")),
            "22" => Some(("饮料、酒", "beverages and spirits")),
            "30" => Some(("药品", "pharmaceuticals")),
            "32" => Some(("墨水、颜料", "inks and paints")),
            "33" => Some(("化妆品、香水", "cosmetics and perfume")),
            "49" => Some(("书籍", "books")),
            "85" => Some(("电子产品", "electronics")),
            "95" => Some(("玩具、游戏机", "toys and game consoles")),
            "96" => Some(("杂项制品", "misc. articles")),
            _ => None,
        };
        match pair {
            Some((zh, en)) => format!("{chapter} {}", self.t(zh, en)),
            None => chapter.to_owned(),
        }
    }

    /// A date and time in Beijing time (UTC+8), the time officers work in.
    pub fn time(self, at: chrono::DateTime<chrono::Utc>) -> String {
        let china = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
        at.with_timezone(&china)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    }

    /// A duration such as `3 小时 12 分` / `3 h 12 min`.
    pub fn age(self, seconds: i64) -> String {
        let seconds = seconds.max(0);
        let (days, hours, minutes) = (seconds / 86_400, seconds / 3_600 % 24, seconds / 60 % 60);
        match (self, days, hours) {
            (Self::Zh, 0, 0) => format!("{minutes} 分钟"),
            (Self::Zh, 0, _) => format!("{hours} 小时 {minutes} 分"),
            (Self::Zh, _, _) => format!("{days} 天 {hours} 小时"),
            (Self::En, 0, 0) => format!("{minutes} min"),
            (Self::En, 0, _) => format!("{hours} h {minutes} min"),
            (Self::En, _, _) => format!("{days} d {hours} h"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_is_the_default_and_english_is_the_switch() {
        assert_eq!(Lang::default(), Lang::Zh);
        assert_eq!(Lang::from_tag("en"), Lang::En);
        assert_eq!(Lang::from_tag("fr"), Lang::Zh);
        assert_eq!(Lang::Zh.other(), Lang::En);
        assert_eq!(Lang::En.t("放行", "Release"), "Release");
        assert_eq!(Lang::Zh.status(800), "放行");
        assert_eq!(Lang::En.status(300), "manual review");
    }

    #[test]
    fn ages_read_naturally() {
        assert_eq!(Lang::Zh.age(59), "0 分钟");
        assert_eq!(Lang::En.age(3 * 3600 + 12 * 60), "3 h 12 min");
        assert_eq!(Lang::Zh.age(2 * 86_400 + 3_600), "2 天 1 小时");
    }
}
